"""Signing keys against nix-store's own, the nginx configuration against the real nginx, the
nix-daemon probe and restart commands against the real /bin/sh."""

import subprocess
import sys

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._caches import binary_cache as bc
from ansible_collections.nixfleet.nixos.plugins.module_utils._caches import cache_key as ck
from ansible_collections.nixfleet.nixos.plugins.module_utils._caches import nix_daemon as nd
from ansible_collections.nixfleet.nixos.plugins.module_utils._caches import nix_conf as nc
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote import target_file as tf


@pytest.mark.host_tools
def test_public_key_matches_nix_store(tmp_path):
    subprocess.run(
        ["nix-store", "--generate-binary-cache-key", "unit-1", str(tmp_path / "sec"), str(tmp_path / "pub")], check=True
    )
    secret = (tmp_path / "sec").read_text()
    assert ck.public_of_secret(secret) == (tmp_path / "pub").read_text().strip()
    nc.validate_public_key(ck.public_of_secret(secret))  # what nix_conf accepts for trusted-public-keys
    with pytest.raises(ck.CacheKeyError, match="32 bytes|not a 64-byte") as info:
        ck.public_of_secret((tmp_path / "pub").read_text())  # a public key is not a secret key
    assert secret.split(":")[1] not in str(info.value)
    with pytest.raises(ck.CacheKeyError, match="not 'name:base64'"):
        ck.public_of_secret("no colon here")
    with pytest.raises(ck.CacheKeyError, match="not a key name"):
        ck.check_name("bad name")


@pytest.mark.host_tools
def test_nginx_accepts_the_configuration(tmp_path):
    server = bc.CacheServer(
        path=str(tmp_path / "cache"),
        state_dir=str(tmp_path / "state"),
        config=str(tmp_path / "nginx.conf"),
        address="127.0.0.1",
        port=18081,
        user="nobody",
        group="nogroup",
        upload_allow=["127.0.0.0/8", "::1/128"],
    )
    server.validate()
    proc = subprocess.run(["/bin/sh", "-c", bc.prepare_command(server).text], check=False)
    assert proc.returncode == 0
    (tmp_path / "nginx.conf").write_text(server.nginx_config())
    test = subprocess.run(
        ["/bin/sh", "-c", bc.test_config_command(server, str(tmp_path / "nginx.conf")).text],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        check=False,
    )
    assert test.returncode == 0, test.stdout
    assert "allow ::1/128;" in server.nginx_config() and server.url == "http://127.0.0.1:18081"
    assert server.cache_info() == "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n"


@pytest.mark.parametrize(
    "change,message",
    [
        ({"upload_allow": ["10.0.0.0/33"]}, "10.0.0.0/33"),
        ({"address": "cache.example.org"}, "does not appear to be an IPv4 or IPv6 address"),
        ({"port": 0}, "out of range"),
        ({"path": "relative/cache"}, "absolute path"),
        ({"path": "/srv/cache; evil"}, "without spaces or nginx syntax"),
        ({"user": "www-data; daemon on"}, "is not a user or group name"),
        ({"group": "x\nload_module /tmp/evil.so"}, "is not a user or group name"),
        ({"user": "$(id)"}, "is not a user or group name"),
        ({"user": "www-data\n"}, "is not a user or group name"),  # a pattern's $ matches before a final newline
        ({"nginx": "/usr/sbin/nginx -g 'daemon off;'"}, "must be a command name or an absolute path"),
        ({"nginx": "nginx\nExecStartPre=/bin/rm -rf /"}, "must be a command name or an absolute path"),
        ({"nginx": "../bin/nginx"}, "must be a command name or an absolute path"),
        ({"nginx": "%h/nginx"}, "must be a command name or an absolute path"),
    ],
)
def test_invalid_cache_settings(change, message):
    """Each is refused before anything is written: nginx.conf's ``user`` line and the unit's
    ``ExecStart=`` take these values as they are."""
    with pytest.raises(ValueError, match=message):
        bc.CacheServer(**change).validate()


@pytest.mark.host_tools
def test_status_probe(tmp_path):
    server = bc.CacheServer(path=str(tmp_path / "cache"), state_dir=str(tmp_path / "state"))
    assert bc.parse_status(sh(bc.status_command(server).text).stdout) == bc.ServerStatus(True, False, "stopped")
    assert subprocess.run(["/bin/sh", "-c", bc.prepare_command(server).text], check=False).returncode == 0
    assert bc.parse_status(sh(bc.status_command(server).text).stdout) == bc.ServerStatus(True, True, "stopped")
    missing = bc.CacheServer(nginx="no-such-nginx-x")
    assert bc.parse_status(sh(bc.status_command(missing).text).stdout).nginx_installed is False


def test_systemd_paths_are_well_formed():
    server = bc.CacheServer(address="10.0.0.7")
    unit = bc.systemd_unit(server)
    assert "PIDFile=/var/lib/nixfleet-binary-cache/nginx.pid" in unit
    assert "ExecStart=nginx -c /etc/nixfleet/binary-cache-nginx.conf" in unit
    assert bc.start_command(server, "systemd", reload=True).text == (
        "systemctl daemon-reload && systemctl enable --now nixfleet-binary-cache && "
        "systemctl reload-or-restart nixfleet-binary-cache"
    )


def sh(command):
    return subprocess.run(
        ["/bin/sh", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False
    )


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


def test_conf_link_and_backup(tmp_path):
    (tmp_path / "real").write_text("x = 1\n")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert tf.parse_probe(sh(tf.probe_command(str(tmp_path / "link")).text).stdout).target == str(tmp_path / "real")
    assert tf.parse_probe(sh(tf.probe_command(str(tmp_path / "real")).text).stdout).kind == "file"
    backup = sh(tf.backup_command(str(tmp_path / "real"), "2026").text).stdout.strip()
    assert backup == str(tmp_path / "real.2026~") and (tmp_path / "real.2026~").read_text() == "x = 1\n"


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


def test_valid_names_and_commands_pass():
    bc.CacheServer(user="nginx", group="www-data", nginx="/nix/store/%s-nginx-1.26/bin/nginx" % ("a" * 32)).validate()
    bc.CacheServer(user="_www", group="nogroup", nginx="nginx").validate()
