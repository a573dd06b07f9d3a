"""Test-side helpers around the local fleet (tests/fleet) and the fixture flake."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "fleet"))
sys.path.insert(0, str(ROOT / "tests" / "helpers"))  # (also when the benchmark imports this module)
import nsfleet  # noqa: E402

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_argv import parse_path_info  # noqa: E402
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command, raw  # noqa: E402
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli  # noqa: E402
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.ssh_target import SshTarget  # noqa: E402

FIXTURE_FLAKE = ROOT / "tests" / "fixtures" / "flake"
FLEET_CLI = ROOT / "tests" / "fleet" / "fleet"
# Local Nix runs never reach the internet; the fixture needs no substituter.
from local_nix import NIX_CONFIG  # noqa: E402  (defined once, for every test)


def target(host: nsfleet.Host) -> SshTarget:
    """The ssh target of a fleet host, with host-key checking on against the fleet's known_hosts."""
    return SshTarget(
        host=host.address,
        user=host.user,
        port=host.port,
        private_key=host.private_key,
        known_hosts=host.known_hosts,
        extra_args=("-o", "StrictHostKeyChecking=yes"),
        name=host.name,
    )


def ssh(host: nsfleet.Host, command, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``command`` (a test's own shell text, or a ``remote_command.Command``) on ``host``."""
    remote = command if isinstance(command, Command) else raw(command)
    proc = subprocess.run(
        target(host).ssh_argv(remote),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError("ssh %s %r failed (%d): %s" % (host.name, command, proc.returncode, proc.stderr))
    return proc


def inside(host: nsfleet.Host, command: str) -> str:
    """Run ``command`` inside the host's namespaces without ssh (works when its sshd is down)."""
    return subprocess.run(
        nsfleet.exec_argv(host, ["/bin/sh", "-c", command]), stdout=subprocess.PIPE, universal_newlines=True, check=True
    ).stdout


def cut_ssh_sessions(host: nsfleet.Host) -> None:
    """Every open ssh session to a systemd host (each a child of the sshd listener), SIGKILLed by pid."""
    inside(
        host,
        "L=$(systemctl show -p MainPID --value ssh.service); "
        'for p in $(cat /proc/$L/task/$L/children); do kill -KILL "$p"; done',
    )


def stop_processes(host: nsfleet.Host, *names: str) -> None:
    """SIGTERM every process of the host (its own PID namespace) named one of ``names``, again
    until none is left (up to 10 s). A process may exit between ``pidof`` and ``kill`` (an
    ssh session or a nix-daemon worker ending with its client): that is not a failure."""
    procs = " ".join(names)
    inside(
        host,
        "for i in $(seq 100); do p=$(pidof %s) || exit 0; kill $p 2>/dev/null; sleep 0.1; done; "
        'echo "still running: $(pidof %s)" >&2; exit 1' % (procs, procs),
    )


def stop_sshd(host: nsfleet.Host) -> None:
    """The host gone for ssh: its listener and every open session (Ansible's ControlMaster too)."""
    if host.systemd:
        cut_ssh_sessions(host)
        inside(host, "systemctl stop ssh.service")
    else:
        # From OpenSSH 9.8 on (Debian 13) sessions run as sshd-session (and 10.0's sshd-auth), not sshd.
        stop_processes(host, "sshd", "sshd-session", "sshd-auth")


def start_sshd(host: nsfleet.Host) -> None:
    if host.systemd:
        inside(host, "systemctl start ssh.service")
    else:
        inside(host, "/usr/sbin/sshd -f /etc/ssh/sshd_config")


@contextlib.contextmanager
def holding_lock(host: nsfleet.Host, lock_file: str, owner: str):
    """Someone else holds ``flock`` on ``lock_file`` on the host (and says so in ``LOCK.owner``)
    for the duration of a ``with`` block; released (the holder killed) afterwards."""
    pid_file = "/run/lock-holder-%s.pid" % os.path.basename(lock_file)
    inside(
        host,
        "mkdir -p %(dir)s; setsid sh -c 'exec 9>>%(lock)s; flock 9; echo %(owner)s > %(lock)s.owner; "
        "echo $$ > %(pid)s; exec sleep 300' </dev/null >/dev/null 2>&1 &"
        % {"dir": os.path.dirname(lock_file), "lock": lock_file, "owner": owner, "pid": pid_file},
    )
    inside(host, "for i in $(seq 100); do [ -s %s ] && exit 0; sleep 0.1; done; exit 1" % pid_file)
    try:
        yield
    finally:
        # The holder exec'd sleep, so its pid is the process that holds the lock.
        inside(host, "kill $(cat %s); rm -f %s" % (pid_file, pid_file))


# Inside the host: once a copy's remote end (nix-daemon --stdio, as root or as the deploy user's proxy
# to the host's daemon) has read 2 MiB of the new system, SIGSTOP every nix-daemon process of the host
# (its own /proc: its PID namespace, nothing else), and print the copy's PID, then theirs (in the host's namespace).
STOP_MID_COPY = r"""
deadline=$(( $(date +%s) + 120 ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  for d in /proc/[0-9]*; do
    [ "$(cat $d/comm 2>/dev/null)" = nix-daemon ] || continue
    case "$(tr '\0' ' ' < $d/cmdline 2>/dev/null)" in *--stdio*) ;; *) continue;; esac
    r=$(sed -n 's/^rchar: //p' $d/io 2>/dev/null)
    [ "${r:-0}" -gt 2097152 ] || continue
    stopped=
    for e in /proc/[0-9]*; do
      [ "$(cat $e/comm 2>/dev/null)" = nix-daemon ] && kill -STOP ${e#/proc/} && stopped="$stopped ${e#/proc/}"
    done
    echo ${d#/proc/}
    echo $stopped
    exit 0
  done
  sleep 0.01
done
exit 1
"""


def stop_nix_mid_copy(host: nsfleet.Host) -> Tuple[str, str]:
    """Wait (up to 120 s) for a copy to the host to be under way, then stop the host's Nix (STOP_MID_COPY):
    (the PID of the copy's remote end, the stopped PIDs), as the host sees them; send them SIGCONT after."""
    copy_end, stopped = (inside(host, STOP_MID_COPY).splitlines() + ["", ""])[:2]
    return copy_end, stopped


def system_state(host: nsfleet.Host) -> Tuple[str, str]:
    """(what the system profile links to, what /run/current-system links to) on a fleet host."""
    return (
        inside(host, "readlink /nix/var/nix/profiles/system").strip(),
        inside(host, "readlink /run/current-system").strip(),
    )


def served_version(host: nsfleet.Host) -> str:
    """The version the host's running generation serves over HTTP (the fixture's web service)."""
    return http_get(host).split()[1]


def http_get(host: nsfleet.Host, path: str = "/", timeout: float = 5) -> str:
    with urllib.request.urlopen("http://%s:%d%s" % (host.address, host.http_port, path), timeout=timeout) as r:
        return r.read().decode()


@dataclass
class Fleet:
    state: Path
    hosts: List[nsfleet.Host]

    def __getitem__(self, name: str) -> nsfleet.Host:
        return {h.name: h for h in self.hosts}[name]


@contextlib.contextmanager
def running_fleet(state: Path, count: int, no_python: Sequence[str] = (), first_address: str = "", **options):
    """A fleet for the duration of a ``with`` block; stopped (and checked clean) afterwards."""
    if not first_address:
        raise ValueError("running_fleet: give the fleet's first_address (each test module has its own)")
    hosts = nsfleet.up(state, count, no_python=no_python, first_address=first_address, **options)
    try:
        yield Fleet(state, hosts)
    finally:
        nsfleet.down(state)


@dataclass
class FixtureFlake:
    """A copy of tests/fixtures/flake whose hosts.json matches a fleet; tests edit it."""

    path: Path
    data: Dict = field(default_factory=dict)

    @classmethod
    def create(
        cls, directory: Path, fleet: Fleet, shapes: Dict[str, str], tags: Optional[Dict[str, List[str]]] = None
    ) -> "FixtureFlake":
        """A flake whose hosts are the fleet's hosts, with the given metadata shapes."""
        hosts = {
            h.name: {
                "address": h.address,
                "port": h.port,
                "user": h.user,
                "shape": shapes.get(h.name, "plain"),
                "tags": (tags or {}).get(h.name, []),
            }
            for h in fleet.hosts
        }
        return cls.from_specs(directory, hosts, fleet.hosts[0].http_port)

    @classmethod
    def from_specs(cls, directory: Path, hosts: Dict[str, Dict], http_port: int = 8080) -> "FixtureFlake":
        """A flake with exactly these hosts.json entries (version 1, no failure by default)."""
        if directory.exists():
            shutil.rmtree(str(directory))
        shutil.copytree(str(FIXTURE_FLAKE), str(directory))
        specs = {name: dict({"version": "1", "fail": "none"}, **spec) for name, spec in hosts.items()}
        flake = cls(directory, {"system": "x86_64-linux", "http_port": http_port, "hosts": specs})
        flake.write()
        return flake

    @classmethod
    def colmena_hosts(cls, directory: Path, fleet: Fleet, names: Sequence[str]) -> "FixtureFlake":
        """A flake whose hosts are the fleet's ``names``, each saying where it lives the colmena way."""
        hosts = {
            h.name: {"address": h.address, "port": h.port, "user": h.user, "shape": "colmena"}
            for h in fleet.hosts
            if h.name in names
        }
        return cls.from_specs(directory, hosts, fleet.hosts[0].http_port)

    @property
    def ref(self) -> str:
        return "path:%s" % self.path

    def write(self) -> None:
        (self.path / "hosts.json").write_text(json.dumps(self.data, indent=2))

    def set_host(self, name: str, **params) -> None:
        self.data["hosts"][name].update(params)
        self.write()

    def bump(self, name: str, **params) -> str:
        """A new, never-built version for ``name`` (and ``params``); returns the version."""
        version = uuid.uuid4().hex[:8]
        self.set_host(name, version=version, **params)
        return version

    def toplevel(self, name: str) -> str:
        return '%s#nixosConfigurations."%s".config.system.build.toplevel' % (self.ref, name)

    def out_path(self, name: str) -> str:
        """The store path the flake wants for ``name`` (evaluated, not built)."""
        return subprocess.run(
            ["nix", "eval", "--raw", self.toplevel(name) + ".outPath"],
            stdout=subprocess.PIPE,
            universal_newlines=True,
            check=True,
        ).stdout

    def out_path_with(self, name: str, **params) -> str:
        """The store path ``name`` would have with ``params`` (evaluated; the flake is left as it was)."""
        saved = dict(self.data["hosts"][name])
        self.set_host(name, **params)
        try:
            return self.out_path(name)
        finally:
            self.data["hosts"][name] = saved
            self.write()

    def build(self, name: str) -> str:
        """Build ``name``'s system in the controller's store; its store path."""
        return (
            subprocess.run(
                ["nix", "build", "--no-link", "--json", self.toplevel(name)],
                stdout=subprocess.PIPE,
                universal_newlines=True,
                check=True,
            )
            .stdout.split('"out":"')[1]
            .split('"')[0]
        )


def nix_env() -> Dict[str, str]:
    env = dict(os.environ)
    env["NIX_CONFIG"] = NIX_CONFIG
    return env


def path_info(path: str, closure_size: bool = False) -> Dict:
    """``nix path-info --json`` of one path in the controller's store, on any Nix (the collection's reader)."""
    info = NixCli().path_info([path], closure_size=closure_size)[path]
    assert info is not None, "%s is not valid in the controller's store" % path
    return info


def valid_on_controller(path: str) -> bool:
    return (
        subprocess.run(["nix-store", "--check-validity", path], stderr=subprocess.DEVNULL, check=False).returncode == 0
    )


def host_path_info(host: nsfleet.Host, path: str) -> Optional[Dict]:
    """The same, in a fleet host's store (its own Nix; ``None`` when the path is not valid there)."""
    return parse_path_info(
        inside(host, "nix --extra-experimental-features nix-command path-info --json %s 2>/dev/null || true" % path)
    ).get(path)
