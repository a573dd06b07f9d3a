"""The nix-daemon probe and restart commands (module_utils._caches.nix_daemon) against the real /bin/sh."""

import subprocess
import sys

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._caches import nix_daemon as nd
from local_shell import sh


def test_daemon_probe_on_this_machine():
    status = nd.parse_status(sh(nd.STATUS_COMMAND.text).stdout)
    assert status.kind in ("none", "process")  # this machine runs no systemd
    for command in (
        nd.restart_command(nd.DaemonStatus("process", 999999)).text,
        nd.restart_command(nd.DaemonStatus("systemd", 999999, "nix-daemon.service")).text,
    ):
        assert subprocess.run(["/bin/sh", "-n", "-c", command], check=False).returncode == 0
    for nothing in (nd.DaemonStatus("none"), nd.DaemonStatus("systemd", 1, "x; reboot")):
        with pytest.raises(ValueError):
            nd.restart_command(nothing)
    assert nd.parse_status("nixfleet-nix-daemon systemd 7 nix-daemon.service\n") == nd.DaemonStatus(
        "systemd", 7, "nix-daemon.service"
    )
    with pytest.raises(ValueError, match="unit"):
        nd.parse_status("nixfleet-nix-daemon systemd 7 $(reboot).service\n")


# A stand-in nix-daemon (python3 under that name, so /proc says nix-daemon): like the real one it
# binds its socket a moment after it starts, and serves it until it is killed.
STAND_IN_DAEMON = """#!/bin/sh
exec "$NIXFLEET_TEST_DIR/py/nix-daemon" -c '
import os, socket, time
path = os.environ["NIXFLEET_TEST_SOCKET"]
time.sleep(0.5)
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(5)
while True:
    s.accept()[0].close()
' "$@"
"""


# "nix store ping": the daemon answers once its socket accepts a connection.
STAND_IN_NIX = """#!/bin/sh
exec python3 -c 'import os, socket; socket.socket(socket.AF_UNIX).connect(os.environ["NIXFLEET_TEST_SOCKET"])'
"""


PLACEHOLDER_PID = 987654321


@pytest.fixture
def stand_ins(tmp_path):
    """PATH and environment whose nix-daemon and nix are the stand-ins, serving tmp_path/sock/socket."""
    bin_dir, py_dir = tmp_path / "bin", tmp_path / "py"
    bin_dir.mkdir()
    py_dir.mkdir()
    (py_dir / "nix-daemon").symlink_to(sys.executable)
    for name, text in (("nix-daemon", STAND_IN_DAEMON), ("nix", STAND_IN_NIX)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    (tmp_path / "sock").mkdir()
    socket_path = str(tmp_path / "sock" / "socket")
    env = "export PATH=%s:$PATH NIXFLEET_TEST_DIR=%s NIXFLEET_TEST_SOCKET=%s; " % (bin_dir, tmp_path, socket_path)
    return env, socket_path


def in_own_pid_namespace(script):
    """``script`` run by sh as PID 1's child of a PID namespace of its own (its /proc shows only its processes)."""
    return subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", "/bin/sh", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=60,
        check=False,
    )


@pytest.mark.host_tools
def test_a_restart_waits_for_the_new_daemons_socket_and_an_unreaped_old_one_counts_as_stopped(tmp_path, stand_ins):
    """The restart command for real, in a PID namespace of its own, against stand-ins: the old daemon's
    parent never reaps it (it becomes a zombie when killed), the new one binds its socket late."""
    env, socket_path = stand_ins
    restart = nd.restart_command(nd.DaemonStatus("process", PLACEHOLDER_PID), timeout=5, socket=socket_path).text
    (tmp_path / "restart.sh").write_text(restart)
    (tmp_path / "status.sh").write_text(nd.status_command(socket_path).text)
    proc = in_own_pid_namespace(
        env + "sh -c 'nix-daemon & echo $! > %(dir)s/old.pid; exec sleep 60' & "
        "until [ -S %(sock)s ]; do sleep 0.1; done; old=$(cat %(dir)s/old.pid); sh %(dir)s/status.sh; "
        'sh -c "$(sed "s/%(pid)d/$old/g" %(dir)s/restart.sh)" || exit 1; echo "old $old"; '
        "[ \"$(cut -d' ' -f3 /proc/$old/stat)\" = Z ] && echo old-is-a-zombie"
        % {"dir": tmp_path, "sock": socket_path, "pid": PLACEHOLDER_PID}
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    found, new = nd.parse_status(lines[0]), nd.parse_status("\n".join(lines[1:]))
    old = int([line for line in lines if line.startswith("old ")][0].split()[1])
    assert found == nd.DaemonStatus("process", old)  # the probe found the old one ...
    assert new.kind == "process" and new.pid not in (None, old)  # ... the restart printed the new one
    assert "old-is-a-zombie" in lines


@pytest.mark.host_tools
def test_only_a_daemon_that_listens_on_this_stores_socket_is_the_daemon(tmp_path, stand_ins):
    """Not a nix-daemon without the listening socket (a worker, a client), not one that listens on the
    same path in another mount namespace (another host's store, a container's): then the probe says
    none and a restart of it is refused. The one in ours is found, and no other process is touched."""
    env, socket_path = stand_ins
    (tmp_path / "status.sh").write_text(nd.status_command(socket_path).text)
    restart = nd.restart_command(nd.DaemonStatus("process", PLACEHOLDER_PID), timeout=5, socket=socket_path).text
    (tmp_path / "restart.sh").write_text(restart)
    proc = in_own_pid_namespace(
        env + "status() { sh %(dir)s/status.sh; }; "
        # a nix-daemon that serves nothing (as a worker or a client): none
        'NIXFLEET_TEST_SOCKET=%(dir)s/elsewhere nix-daemon & w=$!; sleep 1; echo "worker: $(status)"; '
        # the same socket path, in another mount namespace (a tmpfs of its own over the directory): none
        "unshare --mount --propagation private sh -c 'mount -t tmpfs other %(dir)s/sock && exec nix-daemon' & o=$!; "
        'sleep 1; echo "other: $(status)"; '
        'sh -c "$(sed "s/%(pid)d/$o/g" %(dir)s/restart.sh)" 2>&1 | tail -n 1; '
        "kill -0 $o && kill -0 $w && echo both-alive; "
        # ours
        'nix-daemon & m=$!; until [ -S %(sock)s ]; do sleep 0.1; done; echo "mine: $m $(status)"; '
        "kill $w $o $m" % {"dir": tmp_path, "sock": socket_path, "pid": PLACEHOLDER_PID}
    )
    assert proc.returncode == 0, proc.stderr
    said = dict(line.split(": ", 1) for line in proc.stdout.splitlines() if ": " in line)
    assert said["worker"] == "nixfleet-nix-daemon none" and said["other"] == "nixfleet-nix-daemon none", said
    assert [
        line
        for line in proc.stdout.splitlines()
        if line.endswith("is no longer the daemon of this store; nothing was restarted")
    ], proc.stdout
    assert "both-alive" in proc.stdout.splitlines()
    mine, status = said["mine"].split(" ", 1)
    assert nd.parse_status(status) == nd.DaemonStatus("process", int(mine))
