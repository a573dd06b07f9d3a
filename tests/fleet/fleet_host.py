"""One fleet host: what callers see of it (``Host``, the JSON ``up`` prints, plus what ``down`` needs),
and its own files, written before it starts: private directories, nix.conf, sshd_config, host key and
authorized keys (see nsfleet.py, which starts and stops the hosts)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path
from typing import List, Optional

import fleet_machine
import systemd_fleet
from fleet_accounts import prepare_accounts, trusted_users_line

# "root" last: a state directory under /root (Molecule's) is hidden once the host's own /root is mounted.
PRIVATE_DIRS = (
    "nix",
    "run",
    "etc/nix",
    "etc/nixfleet",
    "etc/profile.d",
    "etc/ssh",
    "var/lib",
    "var/cache",
    "home",
    "root",
)
HOST_NIX_CONF = """\
# nix.conf of a nixfleet test-fleet host (written by tests/fleet)
substituters =
sandbox = false
build-users-group =
experimental-features = nix-command flakes
"""


class FleetError(RuntimeError):
    """A fleet host could not be started or stopped."""


@dataclasses.dataclass
class Host:
    """One fleet host as callers see it (the JSON ``up`` prints), plus what ``down`` needs."""

    name: str
    address: str
    port: int
    user: str
    private_key: str
    known_hosts: str
    http_port: int
    no_python: bool
    root: str
    nix_tmpfs: str = ""
    sudo: str = ""  # a deploy user's sudo mode (see DeployUser); "" = ssh logs in as root
    trusted: bool = True  # Nix trusts the ssh user (root always is)
    password: str = ""  # the deploy user's password (a test secret; sudo asks for it in "password" mode)
    root_password: str = ""  # root's password, for su
    systemd: bool = False  # a systemd host (systemd_fleet.py): unshare_pid is its supervisor
    unshare_pid: int = 0
    init_pid: int = 0
    pid_namespace: str = ""
    shared_pid: bool = False  # runs in the fleet machine's PID namespace (fleet_machine.py)
    machine_unshare_pid: int = 0  # the fleet machine, when there is one (the same for every host)
    machine_init_pid: int = 0
    machine_pid_namespace: str = ""

    @property
    def machine(self) -> Optional[fleet_machine.Machine]:
        if not self.machine_init_pid:
            return None
        return fleet_machine.Machine(self.machine_unshare_pid, self.machine_init_pid, self.machine_pid_namespace)

    def public(self) -> dict:
        keys = (
            "name",
            "address",
            "port",
            "user",
            "private_key",
            "known_hosts",
            "http_port",
            "no_python",
            "sudo",
            "trusted",
            "password",
            "root_password",
            "systemd",
        )
        return {key: getattr(self, key) for key in keys}


def _run(argv: List[str]) -> None:
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if proc.returncode != 0:
        raise FleetError("%s failed (exit %d): %s" % (argv[0], proc.returncode, proc.stdout.strip()))


def keygen(path: Path, comment: str) -> None:
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])


def _sshd_config(host: Host) -> str:
    return "\n".join(
        [
            "# sshd_config of fleet host %s (written by tests/fleet)" % host.name,
            "ListenAddress %s" % host.address,
            "Port %d" % host.port,
            "HostKey /etc/ssh/ssh_host_ed25519_key",
            "PidFile /run/sshd.pid",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "AuthorizedKeysFile /etc/ssh/authorized_keys.d/%u",
            "StrictModes no",
            "UsePAM no",
            "PrintMotd no",
            "MaxStartups 200",
            "MaxSessions 100",
            "AcceptEnv LANG LC_*",
            "Subsystem sftp internal-sftp",
            "",
        ]
    )


def _nix_conf(host: Host) -> str:
    if not host.sudo and not host.systemd:
        return HOST_NIX_CONF
    return HOST_NIX_CONF + trusted_users_line(host.trusted)


def prepare(host: Host, client_pub: str, system: Optional[Path]) -> str:
    """Create the host's private directories and keys; return its known_hosts line. ``system``:
    the base root of a systemd host (None: a namespace host, on the machine's own files)."""
    root = Path(host.root)
    for directory in PRIVATE_DIRS if not system else ("etc/nix", "etc/ssh"):
        (root / directory).mkdir(parents=True, exist_ok=True)
    (root / "etc/nix/nix.conf").write_text(_nix_conf(host))
    if host.sudo:
        prepare_accounts(
            root, host.name, host.address, host.sudo, host.password, host.root_password, system=system or Path("/")
        )
    ssh = root / "etc/ssh"
    if system:
        systemd_fleet.prepare_layer(root, host.name)  # its ssh_config and moduli are the base root's
    else:
        for shipped in ("ssh_config", "moduli"):
            if os.path.exists("/etc/ssh/" + shipped):
                shutil.copy("/etc/ssh/" + shipped, ssh / shipped)
    keygen(ssh / "ssh_host_ed25519_key", "root@" + host.name)
    (ssh / "sshd_config").write_text(_sshd_config(host))
    (ssh / "authorized_keys.d").mkdir(exist_ok=True)
    for user in sorted({"root", host.user}):
        (ssh / "authorized_keys.d" / user).write_text(client_pub)
    pub = (ssh / "ssh_host_ed25519_key.pub").read_text().split()
    return "[%s]:%d %s %s\n" % (host.address, host.port, pub[0], pub[1])
