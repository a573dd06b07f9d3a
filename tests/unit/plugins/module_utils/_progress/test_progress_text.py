"""The words of a progress line (module_utils._progress.progress_text), from counters given by hand and
from Nix's own logs (tests/unit/nix_outputs/*/internal-json-*.stderr, read by nix_log: a build of
progress-dep then progress-top, a --keep-going build where one of three fails, a copy of both)."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._progress import nix_log, progress_text as pt
from ansible_collections.nixfleet.nixos.plugins.module_utils._progress.nix_log import NixLog
from recorded_outputs import RECORDED_OUTPUTS as OUTPUTS

GIB = 1 << 30


def fed(version, name, until=None):
    """The log of nix_outputs/VERSION/internal-json-NAME.stderr, read up to the first state ``until`` accepts."""
    log = NixLog()
    for line in (OUTPUTS / version / ("internal-json-%s.stderr" % name)).read_text().splitlines():
        log.feed(line)
        if until and until(log):
            break
    return log


def test_sizes_in_the_largest_unit_that_fits():
    assert pt.size(12) == "12 B" and pt.size(1023) == "1023 B" and pt.size(1024) == "1.0 KiB"
    assert pt.size(340 * (1 << 20)) == "340.0 MiB"
    assert pt.size(int(1.2 * GIB) + 1) == "1.2 GiB"
    assert pt.sizes(int(1.2 * GIB) + 1, int(3.4 * GIB) + 1) == "1.2/3.4 GiB"
    assert pt.sizes(512, 2048) == "0.5/2.0 KiB"  # both in the larger number's unit
    assert pt.sizes(3, 5) == "3/5 B"


def test_a_store_url_loses_its_query_and_its_user_and_password():
    assert pt.store_name("ssh-ng://root@node01?remote-program=/x/nix-daemon&ssh-key=/k") == "ssh-ng://node01"
    assert pt.store_name("ssh://deploy:s3cret@cache.example.org/store?x=1") == "ssh://cache.example.org/store"
    assert pt.store_name("file:///var/cache/nix?compression=none") == "file:///var/cache/nix"
    assert pt.store_name("s3://bucket/a@b") == "s3://bucket/a@b"  # an @ past the host is not a user
    assert pt.store_name("/nix/store") == "/nix/store"


def test_evaluating_and_the_elapsed_time():
    line = pt.evaluating(12, 50, 45.9)
    assert line.phase is pt.Phase.EVALUATING and line.render() == "nixfleet: evaluating 12/50 hosts (45 s)"
    assert pt.evaluating(1, 2, 119.9).text == "evaluating 1/2 hosts (119 s)"
    assert pt.evaluating(1, 2, 125).text == "evaluating 1/2 hosts (2 min 05 s)"


def test_building_before_nix_says_what_it_builds():
    assert pt.building(NixLog(), 3).text == "building (3 s)"


def test_building_names_the_running_derivation_without_its_hash():
    log = fed("2.8.0", "build", until=lambda log: log.builds.running == 1 and log.current is not None)
    assert pt.building(log, 5) == pt.Line(
        pt.Phase.BUILDING, "building 0/2 derivations (1 running, 5 s): progress-dep.drv"
    )


@pytest.mark.parametrize("version", ["2.8.0", "2.26.3", "2.34.8"])
def test_building_when_done_and_with_a_failure(version):
    assert pt.building(fed(version, "build"), 7).text == "building 2/2 derivations (0 running, 7 s)"
    assert pt.building(fed(version, "build-failed"), 7).text == "building 2/3 derivations (0 running, 1 failed, 7 s)"


def test_copying_before_nix_says_what_the_destination_lacks():
    assert pt.copying("node01", NixLog(), 3).text == "copying to node01 (3 s)"
    assert pt.copying("cache", NixLog(), 3, pt.Phase.PUSHING).text == "pushing to cache (3 s)"


def test_copying_counts_paths_and_the_bytes_nix_sends():
    assert pt.copying("node01", fed("2.34.8", "copy"), 3).text == "copying to node01: 2/2 paths, 296/296 B (3 s)"
    # Nix 2.8 sends no byte counts for a copy: the paths alone, or the bytes its processes wrote
    log = fed("2.8.0", "copy")
    assert pt.copying("node01", log, 3).text == "copying to node01: 2/2 paths (3 s)"
    log.written = 2048
    assert pt.copying("node01", log, 3).text == "copying to node01: 2/2 paths, 2.0 KiB sent (3 s)"


def test_a_fleets_copies_summed():
    copies = pt.FleetCopy(14, 3, 40, 120, int(1.2 * GIB) + 1, int(3.4 * GIB) + 1)
    assert pt.fleet_copying(copies, 45).text == "copying to 3/14 hosts: 40/120 paths, 1.2/3.4 GiB (45 s)"
    sent = pt.FleetCopy(2, 1, 1, 2, written=2048)
    assert pt.fleet_copying(sent, 45, pt.Phase.PUSHING).text == "pushing to 1/2 hosts: 1/2 paths, 2.0 KiB sent (45 s)"
    assert pt.fleet_copying(pt.FleetCopy(2, 0), 1).text == "copying to 0/2 hosts: 0/0 paths (1 s)"


def test_hosts_done_and_the_confirmations_waited_for():
    activating = pt.hosts_done(pt.Phase.ACTIVATING, 8, 50, 45, waiting=3)
    assert activating.text == "activating 8/50 hosts, waiting for 3 confirmations (45 s)"
    assert pt.hosts_done(pt.Phase.ACTIVATING, 8, 50, 45, waiting=1).text.endswith("waiting for 1 confirmation (45 s)")
    assert pt.hosts_done(pt.Phase.HEALTH, 40, 50, 3).render() == "nixfleet: health checks 40/50 hosts (3 s)"


def test_a_failed_build_with_its_last_ten_log_lines():
    drv = "/nix/store/5nvcsv3dp22kyk8avij56lhni4z88pam-progress-dep.drv"
    assert pt.build_failed(drv, []).text == "build of %s failed" % drv
    line = pt.build_failed(drv, ["line %d" % i for i in range(12)])
    assert line.phase is pt.Phase.BUILDING
    assert line.text.splitlines() == ["build of %s failed; last 10 log lines:" % drv] + [
        "  > line %d" % i for i in range(2, 12)
    ]


def test_lines_from_real_logs():
    log = nix_log.NixLog()
    lines = (OUTPUTS / "2.34.8" / "internal-json-build.stderr").read_text().splitlines()
    for line in lines[: lines.index(next(x for x in lines if '"preparing dep"' in x)) + 1]:
        log.feed(line)
    assert pt.building(log, 45.2).text == "building 0/2 derivations (1 running, 45 s): progress-dep.drv"
    log = nix_log.NixLog()
    for line in (OUTPUTS / "2.34.8" / "internal-json-copy.stderr").read_text().splitlines():
        log.feed(line)
    assert pt.copying("node01", log, 130).text == "copying to node01: 2/2 paths, 296/296 B (2 min 10 s)"
    assert pt.copying("cache", nix_log.NixLog(), 0, pt.Phase.PUSHING).text == "pushing to cache (0 s)"


def test_sizes_and_names_without_secrets():
    assert pt.sizes(1288490189, 3650722202) == "1.2/3.4 GiB" and pt.size(5 * 1048576) == "5.0 MiB"
    assert pt.store_name("s3://user:pw@bucket/x?secret-key=/k&remote-program=y") == "s3://bucket/x"
    assert pt.store_name("ssh-ng://root@127.0.0.1?remote-program=z") == "ssh-ng://127.0.0.1"
    failed = pt.build_failed("/nix/store/abc-x.drv", ["l%d" % i for i in range(15)]).render()
    assert failed.splitlines()[0] == "nixfleet: build of /nix/store/abc-x.drv failed; last 10 log lines:"
    assert failed.splitlines()[1:] == ["  > l%d" % i for i in range(5, 15)]
