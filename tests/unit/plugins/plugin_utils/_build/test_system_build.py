"""SystemBuilder (plugins/plugin_utils/_build/system_build.py): one ``nix eval`` and one ``nix build``
of the derivations when it works, and when it fails, who is to blame — against a fake Nix that answers
each call as the real CLI does (its messages from Nix's own output, its results in an order of its own,
as ``nix build`` sorts them; the real CLI runs in the fleet tests).

The hosts' systems evaluated by several ``nix eval`` processes at once (``SystemBuilder(eval_workers=N)``;
how chunks are sized is tests/unit/plugins/plugin_utils/_build/test_evaluation_pool.py): the processes
really overlap, and, with the real Nix on a copy of the fixture flake, every host gets exactly the
system Nix gives it alone. ``build_error_for`` names a failed build's cause on every Nix."""

import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.system_build import (
    SystemBuilder,
    SystemTarget,
    build_error_for,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_argv import NixSettings
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli

from fake_nix import FLAKE, FakeNix, drv, out, targets


def test_the_happy_path_is_two_evals_one_build_and_one_path_info():
    nix = FakeNix()
    report = SystemBuilder(nix).build(targets("web", "db", "api"))
    # each host gets its own system, whatever order nix build answers in
    assert report.paths == {"web": out("web"), "db": out("db"), "api": out("api")} and report.failed == {}
    assert report.drv_paths == {"web": drv("web"), "db": drv("db"), "api": drv("api")}
    assert report.closure_sizes == {"web": 1000, "db": 1000, "api": 1000}
    # the first two hosts alone (measured: 1400 MiB a host assumed in 3 GiB), then the third
    assert nix.calls == ["eval", "eval", "path-info", "build", "path-info"]


def test_systems_already_built_are_not_built_again():
    nix = FakeNix()
    nix.built = ["web"]
    report = SystemBuilder(nix).build(targets("web", "db"))
    assert report.paths == {"web": out("web"), "db": out("db")}
    assert nix.calls == ["eval", "path-info", "build", "path-info"] and nix.build_asked == [[drv("db")]]
    again = FakeNix()
    again.built = ["web", "db"]
    SystemBuilder(again).build(targets("web", "db"))
    assert again.calls == ["eval", "path-info"]  # a redeploy with nothing new: nix twice


def test_a_host_that_does_not_evaluate_is_named_and_the_others_are_built():
    nix = FakeNix(broken={"db": "undefined variable 'pgsql' at /srv/fleet/db.nix:3:5"})
    report = SystemBuilder(nix).build(targets("web", "db"))
    assert report.failed == {
        "db": "%s#%s does not evaluate: error: undefined variable 'pgsql' at /srv/fleet/db.nix:3:5"
        % (FLAKE, targets("db")[0].attr)
    }
    assert report.paths == {"web": out("web")} and nix.built == ["web"]
    # One eval of all, one eval of the culprit alone (for its own message), one build of the rest.
    assert nix.calls == ["eval", "eval db", "path-info", "build", "path-info"]
    assert report.nix_calls == ["eval", "eval db", "path-info", "build", "path-info"]


def test_a_host_whose_build_fails_gets_its_own_error_block_and_the_rest_keep_their_paths():
    nix = FakeNix(failing=["db"])
    report = SystemBuilder(nix).build(targets("web", "db"))
    assert set(report.failed) == {"db"}
    assert report.failed["db"].startswith(
        "%s#%s failed to build: error: builder for '%s' failed with exit code 2"
        % (FLAKE, targets("db")[0].attr, drv("db"))
    )
    assert "cc: bad code" in report.failed["db"]
    assert report.paths == {"web": out("web")} and report.drv_paths == {"web": drv("web"), "db": drv("db")}
    assert nix.calls == ["eval", "path-info", "build", "path-info"]  # what exists; what the build made


def test_an_evaluation_error_and_a_build_failure_at_once():
    nix = FakeNix(broken={"api": "attribute 'port' missing"}, failing=["db"])
    report = SystemBuilder(nix).build(targets("web", "db", "api"))
    assert set(report.failed) == {"db", "api"}
    assert "does not evaluate: error: attribute 'port' missing" in report.failed["api"]
    assert "failed to build: error: builder for '%s'" % drv("db") in report.failed["db"]
    assert report.paths == {"web": out("web")}
    assert nix.calls == ["eval", "eval", "eval api", "path-info", "build", "path-info"]  # web+db, then api


def test_check_mode_evaluates_and_builds_nothing():
    nix = FakeNix(broken={"db": "infinite recursion encountered"})
    report = SystemBuilder(nix).check(targets("web", "db"))
    assert report.paths == {"web": out("web")} and "infinite recursion" in report.failed["db"]
    assert "build" not in nix.calls and nix.built == []


FIXTURE = Path(__file__).resolve().parents[4] / "fixtures" / "flake"


ATTR = 'nixosConfigurations."%s".config.system.build.toplevel'


class OverlappingNix(FakeNix):
    """After the first (which evaluates its hosts alone, to measure them), each eval waits until
    ``parties`` evals run at the same time (a barrier): evaluations made one after another break it."""

    def __init__(self, parties):
        super().__init__()
        self.barrier = threading.Barrier(parties, timeout=20)
        self.lock = threading.Lock()

    def eval_expr_json(self, expr, what="nix eval"):
        if self.calls:
            self.barrier.wait()
        with self.lock:
            return super().eval_expr_json(expr, what)


def test_the_processes_evaluate_at_the_same_time_and_each_host_keeps_its_system():
    hosts = targets(*["h%02d" % i for i in range(12)])
    nix = OverlappingNix(3)
    report = SystemBuilder(nix, eval_workers=3).check(hosts)
    assert report.nix_calls == ["eval", "eval", "eval", "eval"]  # h00, h01 alone, then three processes at once
    assert report.to_result()["evaluation"]["chunk_sizes"] == [2, 4, 4, 2]
    assert report.paths == {t.host: "/nix/store/%s-nixos-system-%s" % (t.host[1] * 32, t.host) for t in hosts}


def test_a_chunk_that_fails_leaves_its_hosts_to_be_asked_alone_and_the_others_stand():
    hosts = targets(*["h%02d" % i for i in range(8)])
    nix = FakeNix(broken={"h05": "undefined variable 'x'"})
    report = SystemBuilder(nix, eval_workers=2).build(hosts)
    assert set(report.paths) == {t.host for t in hosts} - {"h05"} and "undefined variable 'x'" in report.failed["h05"]


@pytest.fixture(scope="module")
def flake(tmp_path_factory):
    directory = tmp_path_factory.mktemp("parallel-eval") / "flake"
    shutil.copytree(str(FIXTURE), str(directory))
    data = json.loads((directory / "hosts.json").read_text())
    data["hosts"] = {"e%02d" % i: {"version": "1", "fail": "none", "eval_rounds": 1} for i in range(8)}
    (directory / "hosts.json").write_text(json.dumps(data))
    return "path:%s" % directory


@pytest.mark.host_tools
def test_the_real_nix_gives_every_host_the_system_it_gives_that_host_alone(flake):
    hosts = [SystemTarget(host="e%02d" % i, flake=flake, attr=ATTR % ("e%02d" % i)) for i in range(8)]
    parallel = SystemBuilder(NixCli(NixSettings()), eval_workers=2).check(hosts)
    serial = SystemBuilder(NixCli(NixSettings()), eval_workers=1).check(hosts)
    # two hosts alone, then the other six in two processes at once, or in one
    assert parallel.nix_calls == ["eval"] * 3 and serial.nix_calls == ["eval"] * 2
    assert parallel.to_result()["evaluation"]["chunk_sizes"] == [2, 3, 3]
    assert parallel.to_result()["evaluation"]["per_host_rss_mib"] > 0  # measured: the real nix used memory
    assert parallel.drv_paths == serial.drv_paths and parallel.paths == serial.paths and len(parallel.paths) == 8
    for host in ("e00", "e07"):
        alone = subprocess.run(
            [
                "nix",
                "--extra-experimental-features",
                "nix-command flakes",
                "eval",
                "--raw",
                "%s#%s.drvPath" % (flake, ATTR % host),
            ],
            stdout=subprocess.PIPE,
            universal_newlines=True,
            check=True,
        ).stdout
        assert parallel.drv_paths[host] == alone
    # the synthetic evaluation work is in each system (a host without it has another derivation)
    assert len(set(parallel.drv_paths.values())) == 8


def test_build_errors_name_the_cause_on_every_nix():
    web, db, etc = (
        "/nix/store/%s-nixos-system-%s.drv" % (c * 32, n) for c, n in (("a", "web"), ("b", "db"), ("c", "etc"))
    )
    # Nix 2.34's shape: the toplevel only says a dependency failed; the cause is in another block.
    stderr = (
        "error: builder for '%s' failed with exit code 1;\n       last 1 log lines:\n       > boom\n"
        "error: Cannot build '%s'.\n       Reason: 1 dependency failed.\n"
        "error: Cannot build '%s'.\n       Reason: builder failed.\n" % (etc, web, db)
    )
    msg = build_error_for(stderr, web, [web, db])
    assert "boom" in msg and "1 dependency failed" in msg and db not in msg
    assert build_error_for(stderr, db, [web, db]) == "error: Cannot build '%s'.\n       Reason: builder failed." % db
