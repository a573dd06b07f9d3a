"""Pruning and collecting on a target (module_utils._lifecycle.garbage_collection): what Nix 2.8, 2.26 and 2.34
print after ``nix-store --gc`` (tests/unit/nix_outputs/*/gc-*.txt, made by record-gc.sh there), sizes,
and the prune script run for real by ``sh`` with ``flock`` and a stand-in ``nix-env``."""

import os
import subprocess
import time
from pathlib import Path

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import garbage_collection as gc
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import probe_field
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.process import CommandResult
from recorded_outputs import RECORDED_OUTPUTS as OUTPUTS

VERSIONS = ["2.8.0", "2.26.3", "2.34.8"]


@pytest.mark.parametrize("version", VERSIONS)
def test_what_each_nix_says_it_freed(version):
    one = gc.parse_freed((OUTPUTS / version / "gc-one.txt").read_text())
    # The recorded store had one path of a 3,000,000-byte file; Nix rounds what it prints.
    assert one is not None and one.paths == 1 and abs(one.bytes - 3_000_000) < 0.02 * 3_000_000
    assert gc.parse_freed((OUTPUTS / version / "gc-none.txt").read_text()) == gc.Freed(0, 0)


def test_freed_lines_in_other_units():
    assert gc.parse_freed("12 store paths deleted, 1.5 GiB freed") == gc.Freed(12, 3 << 29)
    assert gc.parse_freed("1 store path deleted, 512 bytes freed") == gc.Freed(1, 512)
    assert gc.parse_freed("finding garbage collector roots...") is None


@pytest.mark.parametrize(
    "text, size",
    [("0", 0), ("512", 512), ("1K", 1024), ("10G", 10 << 30), ("3m", 3 << 20), ("2TiB", 2 << 40), (4096, 4096)],
)
def test_sizes(text, size):
    assert gc.parse_size(text) == size


@pytest.mark.parametrize("text", ["1.5G", "-1", "10 G; rm -rf /", "$(id)", "", "lots", -5, "1P"])
def test_bad_sizes_are_refused(text):
    with pytest.raises(ValueError):
        gc.parse_size(text)


def test_store_space_is_read_from_df():
    out = subprocess.run(
        ["sh", "-c", gc.store_space_command().text.replace(gc.STORE_DIR, "/")],
        stdout=subprocess.PIPE,
        universal_newlines=True,
        check=True,
    ).stdout
    st = os.statvfs("/")
    free = gc.parse_store_space(out)
    assert free is not None and abs(free - st.f_bavail * st.f_frsize) < 256 << 20
    assert gc.parse_store_space("store_free\t\n") is None


@pytest.fixture
def host(tmp_path):
    """A profile with generations 1..4 (current 4) in tmp_path, and a stand-in nix-env that
    deletes the links it is given and logs its arguments."""
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    for n in range(1, 5):
        (profiles / ("tools-%d-link" % n)).symlink_to("/nix/store/%s-g%d" % ("a" * 32, n))
    (profiles / "tools").symlink_to("tools-4-link")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "nix-env"
    stand_in.write_text(
        '#!/bin/sh\necho "$@" >> %s/nix-env.log\nshift 3\nfor n in "$@"; do rm %s/tools-$n-link; done\n'
        % (tmp_path, profiles)
    )
    stand_in.chmod(0o755)
    return tmp_path


def _run(tmp_path, **fields):
    run = gc.PruneRun(
        **dict(
            dict(
                profile=str(tmp_path / "profiles" / "tools"),
                delete=(1, 2),
                expected_link="tools-4-link",
                expected_running=_running(),
                owner="test",
                lock_wait=1,
                lock_file=str(tmp_path / "deploy.lock"),
            ),
            **fields,
        )
    )
    env = dict(os.environ, PATH="%s:%s" % (tmp_path / "bin", os.environ["PATH"]))
    # As Ansible runs it: `sh -c` with `&& sleep 0` appended.
    return subprocess.run(
        ["sh", "-c", gc.prune_command(run).text + " && sleep 0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        check=False,
    )


def answer(proc):
    return CommandResult(proc.args, proc.returncode, proc.stdout, proc.stderr)


def _running():
    return os.readlink("/run/current-system") if os.path.islink("/run/current-system") else ""


def test_the_script_deletes_the_planned_generations_that_still_exist(host):
    os.remove(str(host / "profiles" / "tools-1-link"))  # someone else deleted it already
    proc = _run(host)
    assert proc.returncode == 0, proc.stderr
    assert (host / "nix-env.log").read_text() == "-p %s --delete-generations 2\n" % (host / "profiles" / "tools")
    assert sorted(os.listdir(str(host / "profiles"))) == ["tools", "tools-3-link", "tools-4-link"]
    assert "deleted\t2\n" in proc.stdout and "store_free\t" in proc.stdout
    pruned = gc.parse_prune(answer(proc))
    assert pruned.status is gc.PruneStatus.DONE and (pruned.free_bytes or 0) > 0
    assert (host / "deploy.lock.owner").read_text() == "test\n"


def test_a_changed_profile_deletes_nothing(host):
    proc = _run(host, expected_link="tools-3-link")
    assert proc.returncode == gc.RC_STALE and probe_field(proc.stdout, "holder") == "tools-4-link"
    assert not (host / "nix-env.log").exists() and len(os.listdir(str(host / "profiles"))) == 5
    pruned = gc.parse_prune(answer(proc))  # the operation's parser reads the real script's answer
    assert (pruned.status, pruned.holder, pruned.freed) == (gc.PruneStatus.STALE, "tools-4-link", None)


def test_a_held_lock_deletes_nothing_and_names_its_holder(host):
    (host / "deploy.lock.owner").write_text("bob, deploying\n")
    holder = subprocess.Popen(["flock", str(host / "deploy.lock"), "sleep", "30"])
    try:
        for _attempt in range(50):
            if subprocess.run(["flock", "-n", str(host / "deploy.lock"), "true"], check=False).returncode != 0:
                break
            time.sleep(0.1)
        proc = _run(host)
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == gc.RC_LOCKED and probe_field(proc.stdout, "holder") == "bob, deploying"
    assert not (host / "nix-env.log").exists()
    assert gc.parse_prune(answer(proc)).status is gc.PruneStatus.LOCKED


def test_a_failing_deletion_says_which_step(host):
    (host / "bin" / "nix-env").write_text("#!/bin/sh\necho 'error: cannot delete' >&2\nexit 1\n")
    proc = _run(host)
    assert proc.returncode == gc.RC_DELETE and "cannot delete" in proc.stderr


def test_hostile_profile_names_are_only_words(host):
    evil = host / "profiles" / "x$(touch pwned);y"
    proc = _run(host, profile=str(evil), expected_link="")
    assert proc.returncode == 0, proc.stderr
    assert not (host / "pwned").exists() and not Path("pwned").exists()
