"""Signing keys against nix-store's own, the nginx configuration against the real nginx, the
nix-daemon probe and restart commands against the real /bin/sh."""
import subprocess

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils import binary_cache as bc
from ansible_collections.nixfleet.nixos.plugins.module_utils import cache_key as ck
from ansible_collections.nixfleet.nixos.plugins.module_utils import nix_daemon as nd
from ansible_collections.nixfleet.nixos.plugins.module_utils import nix_conf as nc
from ansible_collections.nixfleet.nixos.plugins.module_utils import target_file as tf


def test_public_key_matches_nix_store(tmp_path):
    subprocess.run(["nix-store", "--generate-binary-cache-key", "unit-1", str(tmp_path / "sec"),
                    str(tmp_path / "pub")], check=True)
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


def test_nginx_accepts_the_configuration(tmp_path):
    server = bc.CacheServer(path=str(tmp_path / "cache"), state_dir=str(tmp_path / "state"),
                            config=str(tmp_path / "nginx.conf"), address="127.0.0.1", port=18081,
                            user="nobody", group="nogroup", upload_allow=["127.0.0.0/8", "::1/128"])
    server.validate()
    proc = subprocess.run(["/bin/sh", "-c", bc.prepare_command(server).text], check=False)
    assert proc.returncode == 0
    (tmp_path / "nginx.conf").write_text(server.nginx_config())
    test = subprocess.run(["/bin/sh", "-c", bc.test_config_command(server, str(tmp_path / "nginx.conf")).text],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert test.returncode == 0, test.stdout
    assert "allow ::1/128;" in server.nginx_config() and server.url == "http://127.0.0.1:18081"
    assert server.cache_info() == "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n"


@pytest.mark.parametrize("change,message", [
    ({"upload_allow": ["10.0.0.0/33"]}, "10.0.0.0/33"),
    ({"address": "cache.example.org"}, "does not appear to be an IPv4 or IPv6 address"),
    ({"port": 0}, "out of range"),
    ({"path": "relative/cache"}, "absolute path"),
    ({"path": "/srv/cache; evil"}, "without spaces or nginx syntax"),
    ({"user": "www-data; daemon on"}, "is not a user or group name"),
    ({"group": "x\nload_module /tmp/evil.so"}, "is not a user or group name"),
    ({"user": "$(id)"}, "is not a user or group name"),
    ({"nginx": "/usr/sbin/nginx -g 'daemon off;'"}, "must be a command name or an absolute path"),
    ({"nginx": "nginx\nExecStartPre=/bin/rm -rf /"}, "must be a command name or an absolute path"),
    ({"nginx": "../bin/nginx"}, "must be a command name or an absolute path"),
    ({"nginx": "%h/nginx"}, "must be a command name or an absolute path"),
])
def test_invalid_cache_settings(change, message):
    """Each is refused before anything is written: nginx.conf's ``user`` line and the unit's
    ``ExecStart=`` take these values as they are."""
    with pytest.raises(ValueError, match=message):
        bc.CacheServer(**change).validate()


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
        "systemctl reload-or-restart nixfleet-binary-cache")


def sh(command):
    return subprocess.run(["/bin/sh", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)


def test_daemon_probe_on_this_machine():
    status = nd.parse_status(sh(nd.STATUS_COMMAND.text).stdout)
    assert status.kind in ("none", "process")  # this machine runs no systemd
    for command in (nd.restart_command(nd.DaemonStatus("process", 999999)).text,
                    nd.restart_command(nd.DaemonStatus("systemd")).text):
        assert subprocess.run(["/bin/sh", "-n", "-c", command], check=False).returncode == 0
    with pytest.raises(ValueError):
        nd.restart_command(nd.DaemonStatus("none")).text


def test_conf_link_and_backup(tmp_path):
    (tmp_path / "real").write_text("x = 1\n")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert tf.parse_probe(sh(tf.probe_command(str(tmp_path / "link")).text).stdout).target == str(tmp_path / "real")
    assert tf.parse_probe(sh(tf.probe_command(str(tmp_path / "real")).text).stdout).kind == "file"
    backup = sh(tf.backup_command(str(tmp_path / "real"), "2026").text).stdout.strip()
    assert backup == str(tmp_path / "real.2026~") and (tmp_path / "real.2026~").read_text() == "x = 1\n"


STAND_IN_DAEMON = """#!/bin/sh
# A stand-in nix-daemon: like the real one it binds its socket a moment after it starts.
trap 'exit 0' TERM
rm -f "$NIXFLEET_TEST_DIR/socket"
sleep 0.5
: > "$NIXFLEET_TEST_DIR/socket"
while :; do sleep 0.1; done
"""
STAND_IN_NIX = '#!/bin/sh\n[ -e "$NIXFLEET_TEST_DIR/socket" ]  # "nix store ping": the daemon answers once bound\n'
PLACEHOLDER_PID = 987654321


def test_a_restart_waits_for_the_new_daemons_socket_and_an_unreaped_old_one_counts_as_stopped(tmp_path):
    """The restart command for real, in a PID namespace of its own, against stand-ins: the old daemon's
    parent never reaps it (it becomes a zombie when killed), the new one binds its socket late."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("nix-daemon", STAND_IN_DAEMON), ("nix", STAND_IN_NIX)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    restart = nd.restart_command(nd.DaemonStatus("process", PLACEHOLDER_PID), timeout=5).text
    script = ("export PATH=%(bin)s:$PATH NIXFLEET_TEST_DIR=%(dir)s; "
              "sh -c 'nix-daemon & echo $! > %(dir)s/old.pid; exec sleep 60' & "
              "until [ -e %(dir)s/socket ]; do sleep 0.1; done; old=$(cat %(dir)s/old.pid); "
              "sh -c \"$(sed \"s/%(pid)d/$old/g\" %(dir)s/restart.sh)\" || exit 1; "
              "[ -e %(dir)s/socket ] && echo socket-answers; "
              "[ \"$(cut -d' ' -f3 /proc/$old/stat)\" = Z ] && echo old-is-a-zombie"
              % {"bin": bin_dir, "dir": tmp_path, "pid": PLACEHOLDER_PID})
    (tmp_path / "restart.sh").write_text(restart)
    proc = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "/bin/sh", "-c", script],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=30,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert nd.parse_status(proc.stdout).kind == "process"  # it prints the new daemon
    assert "socket-answers" in proc.stdout and "old-is-a-zombie" in proc.stdout, proc.stdout


def test_valid_names_and_commands_pass():
    bc.CacheServer(user="nginx", group="www-data", nginx="/nix/store/%s-nginx-1.26/bin/nginx" % ("a" * 32)).validate()
    bc.CacheServer(user="_www", group="nogroup", nginx="nginx").validate()
