"""End-to-end proof of the local fleet: real Nix, real OpenSSH, real namespaces."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from fleetctl import FLEET_CLI, NIX_CONFIG, http_get, inside, nsfleet, ssh, target
from ssh_shell import SshShell

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generations import (
    SYSTEM_PROFILE,
    parse_probe,
    probe_command,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import argv, raw
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.ssh_target import SshTarget

pytestmark = pytest.mark.integration


def build_all(flake, names):
    """One nix build for every host's toplevel; returns {name: store path}."""
    results = NixCli(env={"NIX_CONFIG": NIX_CONFIG}).build([flake.toplevel(n) for n in names])
    outs = [r["outputs"]["out"] for r in results]  # (nix build sorts its results: matched by name)
    return {name: [o for o in outs if o.split("-", 1)[1].startswith("nixos-system-%s-" % name)][0] for name in names}


def test_deploy_every_host_by_hand(session_fleet, session_flake):
    """Build, nix copy over ssh (fleet key + known_hosts), set the profile, activate, check."""
    names = [h.name for h in session_fleet.hosts]
    paths = build_all(session_flake, names)
    assert len(set(paths.values())) == len(names)
    cli = NixCli(env={"NIX_CONFIG": NIX_CONFIG})
    for host in session_fleet.hosts:
        t = target(host)
        path = paths[host.name]
        assert cli.missing_paths([path], t.store_url(), env=t.nix_env()) == [path]
        cli.copy([path], t.store_url(), env=t.nix_env(), no_check_sigs=True)
        assert cli.missing_paths([path], t.store_url(), env=t.nix_env()) == []
        shell = SshShell(t)
        shell.check(argv("nix-env", "-p", SYSTEM_PROFILE, "--set", path), "setting the profile")
        shell.check(argv(path + "/bin/switch-to-configuration", "switch"), "activation")
    for host in session_fleet.hosts:
        path = paths[host.name]
        state = parse_probe(SYSTEM_PROFILE, ssh(host, probe_command()).stdout)
        assert state.running_system == path
        assert [(g.number, g.path) for g in state.generations] == [(1, path)]
        assert inside(host, "readlink /nix/var/nix/profiles/system").strip() == "system-1-link"
        assert inside(host, "readlink /run/current-system").strip() == path
        assert inside(host, "cat /nix/var/nix/profiles/system/nixos-version").strip() == "1"
        assert http_get(host) == "%s 1\n" % host.name
    # Every host has its own store: node01's toplevel is on node01 only.
    n1, n2 = session_fleet["node01"], session_fleet["node02"]
    assert ssh(n2, "test -e %s" % paths["node01"], check=False).returncode == 1
    assert ssh(n1, "test -e %s" % paths["node01"]).returncode == 0
    # The shared part of the closure is the same store path on both hosts.
    shared = ssh(n1, "readlink %s/sw" % paths["node01"]).stdout
    assert shared == ssh(n2, "readlink %s/sw" % paths["node02"]).stdout


def test_hosts_have_their_own_namespaces(session_fleet):
    for host in session_fleet.hosts:
        assert ssh(host, "hostname").stdout.strip() == host.name
        assert inside(host, "hostname").strip() == host.name
        assert "substituters =" in ssh(host, "cat /etc/nix/nix.conf").stdout
        # PID 1 is the host's own init, not the machine's.
        assert "tini" in ssh(host, "cat /proc/1/cmdline | tr '\\0' ' '").stdout
    marker = "/var/lib/nixfleet-marker"
    ssh(session_fleet["node01"], "touch %s" % marker)
    assert ssh(session_fleet["node02"], "test -e %s" % marker, check=False).returncode == 1
    assert not os.path.exists(marker)


def test_host_keys_are_verified(session_fleet, tmp_path):
    host = session_fleet["node01"]
    wrong = tmp_path / "known_hosts"
    other = Path(session_fleet["node02"].known_hosts).read_text().splitlines()
    # node02's key written for node01's address: ssh must refuse.
    key = [line for line in other if line.startswith("[%s]" % session_fleet["node02"].address)][0].split(" ", 1)[1]
    wrong.write_text("[%s]:%d %s\n" % (host.address, host.port, key))
    argv = [
        "ssh",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "UserKnownHostsFile=%s" % wrong,
        "-i",
        host.private_key,
        "-p",
        str(host.port),
        "%s@%s" % (host.user, host.address),
        "true",
    ]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert proc.returncode == 255
    assert "HOST IDENTIFICATION HAS CHANGED" in proc.stderr or "Host key verification failed" in proc.stderr


def test_no_python_host_has_no_python(session_fleet):
    host = session_fleet["node04"]
    assert host.no_python
    probe = "for p in python python2 python3 python3.11; do command -v $p; done; find /usr/lib/python3* -mindepth 1 2>/dev/null | head -3; true"
    assert ssh(host, probe).stdout.strip() == ""
    assert ssh(host, "/usr/bin/python3 -c 1", check=False).returncode == 127
    assert ssh(session_fleet["node01"], "command -v python3").stdout.strip()
    # Ansible itself: modules need Python and fail; raw works.
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
    common = [
        "-i",
        "%s," % host.address,
        "-u",
        host.user,
        "--private-key",
        host.private_key,
        "-e",
        "ansible_port=%d" % host.port,
        "--ssh-common-args=-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes" % host.known_hosts,
    ]
    env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="True")
    ping = subprocess.run(
        [ansible, "all"] + common + ["-m", "ping"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        env=env,
        check=False,
    )
    assert ping.returncode != 0
    assert "python" in ping.stdout.lower()
    raw = subprocess.run(
        [ansible, "all"] + common + ["-m", "raw", "-a", "hostname"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        env=env,
        check=False,
    )
    assert raw.returncode == 0, raw.stdout
    assert "node04" in raw.stdout


def _listening(address, port):
    try:
        socket.create_connection((address, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_cli_up_and_down_leave_nothing(tmp_path):
    """The shell interface as documented: up prints JSON; down stops everything and unmounts."""
    state = tmp_path / "x"
    up = subprocess.run(
        [
            str(FLEET_CLI),
            "up",
            "--hosts",
            "20",
            "--no-python",
            "node03",
            "--state",
            str(state),
            "--first-address",
            "127.0.20.11",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        check=False,
    )
    assert up.returncode == 0, up.stderr
    hosts = json.loads(up.stdout)["hosts"]
    assert [h["name"] for h in hosts] == ["node%02d" % i for i in range(1, 21)]
    assert hosts[0]["address"] == "127.0.20.11" and hosts[19]["address"] == "127.0.20.30"
    for h in hosts:
        assert set(h) >= {"name", "address", "port", "user", "private_key", "known_hosts"}
        assert os.path.isabs(h["private_key"]) and os.path.isabs(h["known_hosts"])
        assert _listening(h["address"], h["port"])
    assert [h["no_python"] for h in hosts].count(True) == 1
    recorded = nsfleet.load(state)
    # Leave work behind in a host: a detached service and a session's background process.
    first = recorded[0]
    ssh(first, "nohup sleep 1000 >/dev/null 2>&1 &")
    ssh(first, "/bin/busybox httpd -p %s:%d -h /tmp </dev/null >/dev/null 2>&1" % (first.address, first.http_port))
    assert len(nsfleet.processes_in(first.pid_namespace)) >= 4  # tini, init sleep, sshd, sleep, httpd
    looked = subprocess.run(
        [str(FLEET_CLI), "exec", "node02", "--state", str(state), "--", "hostname"],
        stdout=subprocess.PIPE,
        universal_newlines=True,
        check=False,
    )
    assert looked.stdout.strip() == "node02"
    assert _listening(first.address, first.http_port)
    down = subprocess.run(
        [str(FLEET_CLI), "down", "--state", str(state)], stderr=subprocess.PIPE, universal_newlines=True, check=False
    )
    assert down.returncode == 0, down.stderr
    for h in recorded:
        assert nsfleet.processes_in(h.pid_namespace) == []
        assert not _listening(h.address, h.port)
    assert not _listening(first.address, first.http_port)
    assert nsfleet.mounts_under(tmp_path) == []
    assert not state.exists()


def test_up_refuses_a_running_state_and_bad_addresses(tmp_path, session_fleet):
    with pytest.raises(nsfleet.FleetError, match="already holds a fleet"):
        nsfleet.up(session_fleet.state, 1)
    with pytest.raises(nsfleet.FleetError, match="127.0.0.0/8"):
        nsfleet.up(tmp_path / "s", 2, first_address="10.0.0.1")
    with pytest.raises(nsfleet.FleetError, match="unknown hosts"):
        nsfleet.up(tmp_path / "s", 2, no_python=["node09"], first_address="127.0.21.1")


def test_core_reports_nix_version_and_remote_failures(session_fleet):
    version = NixCli(env={"NIX_CONFIG": NIX_CONFIG}).version()
    assert version.implementation == "Nix" and version.at_least(2, 8) and version.supports_flakes
    shell = SshShell(target(session_fleet["node01"]))
    with pytest.raises(NixError) as info:
        shell.check(raw("echo 'error: no such generation' >&2; exit 7"), "switching")
    assert info.value.rc == 7 and info.value.host == "node01"
    assert str(info.value) == "node01: switching failed (exit code 7): error: no such generation"
    unreachable = SshShell(SshTarget(host="127.0.10.99", port=2222, name="gone", extra_args=("-o", "ConnectTimeout=3")))
    with pytest.raises(NixError) as info:
        unreachable.check(argv("true"), "probing")
    assert info.value.rc == 255 and "Connection refused" in info.value.stderr
