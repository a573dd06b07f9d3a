"""The copy lock's remote program, run by a real POSIX shell with a real flock (util-linux), the
way sshd runs it on a target: ``$SHELL -c "<remote-program> --stdio"``. The Nix program it starts
is a stand-in that prints its arguments and whether the lock is held; the real thing is proven on
the fleet (tests/integration/test_copy_lock.py)."""

import fcntl
import os
import shlex
import subprocess
import sys
import time
from urllib.parse import unquote, urlsplit

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import copy_lock

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
    env = dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ["PATH"]), LOCK=str(lock), SSH_CLIENT="10.1.2.3 50022 22")
    return lock, env


def run_remote(program, args, env):
    return subprocess.run(
        ["sh", "-c", "%s %s" % (program, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        env=env,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    "scheme,args,started",
    [
        ("ssh-ng", "--stdio", "nix-daemon --stdio"),
        ("ssh", "--serve --write", "nix-store --serve --write"),
    ],
)
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
        "another copy to this host held %s for 1 s: a copy from 10.9.9.9 since 2026-11-22T10:00:00Z" % lock
    )


def test_a_user_who_may_not_create_the_lock_copies_without_it(target, tmp_path):
    _lock, env = target
    (tmp_path / "not-a-dir").write_text("")
    unusable = tmp_path / "not-a-dir" / "nixfleet-copy.lock"
    done = run_remote(
        copy_lock.remote_program("ssh-ng", wait=1, lock_file=str(unusable)),
        "--stdio",
        dict(env, LOCK=str(tmp_path / "other.lock")),
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == ["nix-daemon --stdio"]


def sleeper(bin_dir, name):
    """An executable called ``name`` (its /proc comm is ``name``) that sleeps: ``NAME -c CODE ARGS``."""
    link = bin_dir / name
    link.symlink_to(sys.executable)
    return str(link)


def wait_gone(proc, seconds=10):
    try:
        proc.wait(timeout=seconds)
        return True
    except subprocess.TimeoutExpired:
        return False


def test_stale_copies_of_the_user_are_ended_and_live_ones_kept(target, tmp_path):
    """A ``nix-daemon --stdio`` whose ssh session is gone (its parent died: no sshd above it) is
    killed before the lock is taken; one under an ``sshd-session`` (a live copy) and other programs
    are left alone."""
    lock, env = target
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    sleeper(fakes, "nix-daemon")
    sshd = sleeper(fakes, "sshd-session")
    daemon = "nix-daemon"  # by name, as sshd's shell starts it: argv[0] is the bare name
    on_path = dict(os.environ, PATH="%s:%s" % (fakes, os.environ["PATH"]))
    nap = "import time; time.sleep(120)"
    # Stale: started by a shell that is gone, as a cut ssh session leaves its proxy.
    orphan_pid = tmp_path / "orphan.pid"
    subprocess.run(
        ["sh", "-c", '"$0" -c "$1" --stdio </dev/null >/dev/null 2>&1 & echo $! > "$2"', daemon, nap, str(orphan_pid)],
        check=True,
        env=on_path,
    )
    orphan = int(orphan_pid.read_text())
    # Live: under an sshd-session; and a sleeper that is no copy at all.
    live = subprocess.Popen(
        [sshd, "-c", "import subprocess, sys; subprocess.run(sys.argv[1:])", daemon, "-c", nap, "--stdio"], env=on_path
    )
    other = subprocess.Popen([daemon, "-c", nap, "--daemon"], env=on_path)
    try:
        deadline = time.monotonic() + 10
        while (
            not [c for c in os.listdir("/proc") if c.isdigit() and _parent(int(c)) == live.pid]
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        done = run_remote(copy_lock.remote_program("ssh-ng", wait=5, lock_file=str(lock)), "--stdio", env)
        assert (done.returncode, done.stderr) == (0, "")
        assert done.stdout.splitlines() == ["nix-daemon --stdio", "the lock is held"]
        deadline = time.monotonic() + 10
        while os.path.exists("/proc/%d" % orphan) and _state(orphan) != "Z" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not os.path.exists("/proc/%d" % orphan) or _state(orphan) == "Z"
        assert live.poll() is None and other.poll() is None
        assert [c for c in os.listdir("/proc") if c.isdigit() and _parent(int(c)) == live.pid]
    finally:
        started = [orphan] + [int(c) for c in os.listdir("/proc") if c.isdigit() and _parent(int(c)) == live.pid]
        for proc in (live, other):
            proc.kill()
            proc.wait()
        for pid in started:
            try:
                os.kill(pid, 9)
            except OSError:
                pass


def _stat_fields(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return ["", "0"]


def _parent(pid):
    return int(_stat_fields(pid)[1])


def _state(pid):
    return _stat_fields(pid)[0]


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
    for token in ("not-hex!", "abc", "0123abcd\n"):  # a pattern's $ matches before a final newline
        with pytest.raises(ValueError, match="8 to 64 lower-case hex digits"):
            copy_lock.end_copy_command(token)
    assert copy_lock.locked_message("error: cannot open connection to remote store") == ""


def test_a_push_that_waits_says_so_every_heartbeat(target):
    """While another push holds the lock, the wrapper tells the controller (on stderr, which Nix passes
    on) that it still waits, so the controller's stall watchdog does not take the wait for a hang."""
    lock, env = target
    lock.parent.mkdir(parents=True)
    (lock.parent / "nixfleet-copy.lock.owner").write_text("a copy from 10.9.9.9 since then\n")
    with open(str(lock), "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        started = time.monotonic()
        done = run_remote(copy_lock.remote_program("ssh-ng", wait=3, lock_file=str(lock), heartbeat=1), "--stdio", env)
    took = time.monotonic() - started
    assert done.returncode == copy_lock.RC_LOCKED and took >= 3, (done, took)
    assert done.stderr.splitlines() == [
        "nixfleet: waiting for the copy lock %s: a copy from 10.9.9.9 since then" % lock,
        "nixfleet: still waiting for the copy lock (1 s)",
        "nixfleet: still waiting for the copy lock (2 s)",
        "nixfleet: another copy to this host held %s for 3 s: a copy from 10.9.9.9 since then" % lock,
    ]
    assert [copy_lock.heartbeat_for(s) for s in (0, 2, 9, 300)] == [30, 1, 3, 30]
    with pytest.raises(ValueError):
        copy_lock.wrapper_script(heartbeat=0)


@pytest.mark.host_tools
def test_a_stale_copy_of_another_store_is_not_ours_to_end(target, tmp_path):
    """A ``nix-daemon --stdio`` without an ssh session, but in another mount namespace whose /nix/store
    is another store (another host's, a container's): the reaper leaves it alone."""
    lock, env = target
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    sleeper(fakes, "nix-daemon")
    on_path = dict(os.environ, PATH="%s:%s" % (fakes, os.environ["PATH"]))
    pid_file = tmp_path / "other.pid"
    subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            'mount -t tmpfs other /nix/store && { "$0" -c "$1" --stdio </dev/null >/dev/null 2>&1 & echo $! > "$2"; }',
            "nix-daemon",
            "import time; time.sleep(120)",
            str(pid_file),
        ],
        check=True,
        env=on_path,
    )
    other = int(pid_file.read_text())
    try:
        assert _state(other) not in ("", "Z")
        done = run_remote(copy_lock.remote_program("ssh-ng", wait=5, lock_file=str(lock)), "--stdio", env)
        assert (done.returncode, done.stderr) == (0, "")
        time.sleep(0.5)
        assert _state(other) not in ("", "Z")  # still running
    finally:
        os.kill(other, 9)


def test_a_stalled_copy_s_own_program_and_only_it_is_ended_by_its_token(target, tmp_path):
    """The wrapper hands its token to the Nix program it starts; ``end_copy_command`` of that token
    ends that process (and prints its PID), not a copy with another token, nor one without."""
    lock, env = target
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    sleeper(fakes, "nix-daemon")
    on_path = dict(env, PATH="%s:%s" % (fakes, os.environ["PATH"]))
    nap = "import time; time.sleep(120)"
    copies = {}
    for token in ("0123abcd" * 4, "feedbeef" * 4, ""):
        program = copy_lock.remote_program("ssh-ng", wait=5, lock_file=str(tmp_path / ("lock-%s" % token)), token=token)
        # (no --stdio: these copies have no sshd above them, so each later wrapper's reaper would end
        # the earlier ones as stale; the token alone must single one out)
        copies[token] = subprocess.Popen(["sh", "-c", "exec %s -c %s" % (program, shlex.quote(nap))], env=on_path)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_comm(c.pid) != "nix-daemon" for c in copies.values()):
            time.sleep(0.05)
        ended = subprocess.run(
            ["sh", "-c", copy_lock.end_copy_command("0123abcd" * 4).text],
            stdout=subprocess.PIPE,
            universal_newlines=True,
            check=True,
        ).stdout.split()
        assert ended == [str(copies["0123abcd" * 4].pid)]
        assert copies["0123abcd" * 4].wait(timeout=10) == -9
        assert copies["feedbeef" * 4].poll() is None and copies[""].poll() is None
    finally:
        for copy in copies.values():
            copy.kill()
            copy.wait()
    for bad in ("", "ABC", "x" * 8, "0123abcd; reboot"):
        with pytest.raises(ValueError, match="token"):
            copy_lock.end_copy_command(bad)


def _comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as comm:
            return comm.read().strip()
    except OSError:
        return ""
