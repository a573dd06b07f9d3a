"""The binary cache server (module_utils._caches.binary_cache): its nginx configuration against the real
nginx, its settings' validation, and its status probe and unit against the real /bin/sh."""

import subprocess

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._caches import binary_cache as bc
from local_shell import sh


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


def test_valid_names_and_commands_pass():
    bc.CacheServer(user="nginx", group="www-data", nginx="/nix/store/%s-nginx-1.26/bin/nginx" % ("a" * 32)).validate()
    bc.CacheServer(user="_www", group="nogroup", nginx="nginx").validate()
