"""The copy lock's remote program, run by a real POSIX shell with a real flock (util-linux), the
way sshd runs it on a target: ``$SHELL -c "<remote-program> --stdio"``. The Nix program it starts
is a stand-in that prints its arguments and whether the lock is held; the real thing is proven on
the fleet (tests/integration/test_copy_lock.py)."""
import fcntl
import os
import subprocess
from urllib.parse import unquote, urlsplit

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils import copy_lock

STAND_IN = """#!/bin/sh
echo "$(basename "$0") $*"
flock -n "$LOCK" true || echo "the lock is held"
"""


@pytest.fixture
def target(tmp_path):
    """A fake target: a lock file path and a PATH whose nix-daemon and nix-store are stand-ins."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("nix-daemon", "nix-store"):
        (bin_dir / name).write_text(STAND_IN)
        (bin_dir / name).chmod(0o755)
    lock = tmp_path / "var" / "nix" / "nixfleet-copy.lock"
    env = dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ["PATH"]), LOCK=str(lock),
               SSH_CLIENT="10.1.2.3 50022 22")
    return lock, env


def run_remote(program, args, env):
    return subprocess.run(["sh", "-c", "%s %s" % (program, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, timeout=30, check=False)


@pytest.mark.parametrize("scheme,args,started", [
    ("ssh-ng", "--stdio", "nix-daemon --stdio"),
    ("ssh", "--serve --write", "nix-store --serve --write"),
])
def test_nix_runs_behind_the_lock_and_the_lock_says_who(target, scheme, args, started):
    lock, env = target
    done = run_remote(copy_lock.remote_program(scheme, wait=5, lock_file=str(lock)), args, env)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [started, "the lock is held"]
    owner = (lock.parent / "nixfleet-copy.lock.owner").read_text()
    assert owner.startswith("a copy from 10.1.2.3 since 20") and owner.endswith("Z\n")


def test_a_held_lock_fails_after_the_wait_naming_the_holder(target):
    lock, env = target
    lock.parent.mkdir(parents=True)
    (lock.parent / "nixfleet-copy.lock.owner").write_text("a copy from 10.9.9.9 since 2026-11-22T10:00:00Z\n")
    with open(str(lock), "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        done = run_remote(copy_lock.remote_program("ssh-ng", wait=1, lock_file=str(lock)), "--stdio", env)
    assert done.returncode == copy_lock.RC_LOCKED
    assert done.stdout == ""  # Nix never started: nothing was copied
    assert copy_lock.locked_message("error: x\n" + done.stderr) == (
        "another copy to this host held %s for 1 s: a copy from 10.9.9.9 since 2026-11-22T10:00:00Z" % lock)


def test_a_user_who_may_not_create_the_lock_copies_without_it(target, tmp_path):
    _lock, env = target
    (tmp_path / "not-a-dir").write_text("")
    unusable = tmp_path / "not-a-dir" / "nixfleet-copy.lock"
    done = run_remote(copy_lock.remote_program("ssh-ng", wait=1, lock_file=str(unusable)), "--stdio",
                      dict(env, LOCK=str(tmp_path / "other.lock")))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == ["nix-daemon --stdio"]


def test_the_store_url_carries_the_program_through_nix_s_parsing():
    program = copy_lock.remote_program("ssh-ng")
    url = copy_lock.store_url("ssh-ng://root@web-01", "ssh-ng")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == ("ssh-ng", "root@web-01", "", "")
    name, equals, value = parts.query.partition("=")
    assert (name, equals) == ("remote-program", "=") and unquote(value) == program
    assert not set(" &#?") & set(value)
    # Newer Nix splits remote-program into words and ssh joins them with one space: same command.
    assert " ".join(program.split()) == program


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        copy_lock.remote_program("https")
    with pytest.raises(ValueError):
        copy_lock.wrapper_script(wait=-1)
    assert copy_lock.locked_message("error: cannot open connection to remote store") == ""
