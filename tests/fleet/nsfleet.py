"""The local fleet: NixOS-like hosts made of Linux namespaces on one machine.

Each host is an ``sshd`` on its own loopback address, inside its own PID, mount and UTS
namespaces (``unshare``), with private ``/nix``, ``/run``, ``/etc/nix``, ``/etc/nixfleet``, ``/etc/profile.d``,
``/etc/ssh``, ``/var/lib``, ``/var/cache``, ``/root`` and ``/home`` bind-mounted from the fleet's state
directory. A host may have a deploy user (``DeployUser``): a non-root ``deploy`` account that ssh
logs in as, with sudo, while a ``nix-daemon`` run by root owns the store (multi-user Nix, as on
NixOS); its ``/etc/passwd``, ``group``, ``shadow``, ``hosts`` and ``sudoers.d`` are then its own.
PID 1 of each host is ``tini``, so
killing it tears down every process the host ever started (sshd, sessions, services) and its
mount namespace, and with it every mount. Nothing is mounted in the caller's namespace. What a host
is (``Host``) and the files it gets before it starts (keys, sshd_config, nix.conf): fleet_host.py.

With ``shared_pid``, the fleet runs inside one PID namespace, its "machine" (fleet_machine.py): the
hosts named there share it, as chroots share a real machine's, and see every process of the fleet in
their ``/proc``; the others nest PID namespaces of their own in it, as containers do.

A fleet can instead be made of systemd hosts (``systemd=True``, see systemd_fleet.py): systemd as
PID 1 in systemd-nspawn, sshd and nix-daemon as units, real reboots.
"""

from __future__ import annotations

import dataclasses
import glob
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from fleet_accounts import ACCOUNT_FILES, DEPLOY_USER  # noqa: E402
from fleet_accounts import DeployUser  # noqa: E402  (part of up()'s interface: callers use nsfleet.DeployUser)
import fleet_host  # noqa: E402
from fleet_host import PRIVATE_DIRS  # noqa: E402
from fleet_host import FleetError, Host  # noqa: E402  (callers use nsfleet.FleetError and nsfleet.Host)
import fleet_machine  # noqa: E402
import systemd_fleet  # noqa: E402
from fleet_processes import children as _children, kill as _kill, pid_namespace as _pid_namespace  # noqa: E402
from fleet_processes import processes_in  # noqa: E402,F401  (callers use nsfleet.processes_in)

HERE = Path(__file__).resolve().parent
HOST_INIT = HERE / "host-init.sh"
STATE_FILE = "fleet.json"
# The accounts of a host with a deploy user (files bind-mounted over the machine's; sudoers.d a directory).
PATH_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
PYTHON_LIB_GLOBS = ("/usr/lib/python[0-9]*", "/usr/local/lib/python[0-9]*")


def python_bin_dirs() -> List[str]:
    """The standard PATH directories (resolved, de-duplicated) that hold python* entries."""
    dirs = {os.path.realpath(d) for d in PATH_DIRS if os.path.isdir(d)}
    return sorted(d for d in dirs if glob.glob(os.path.join(d, "python*")))


def python_lib_dirs() -> List[str]:
    found = {os.path.realpath(p) for pattern in PYTHON_LIB_GLOBS for p in glob.glob(pattern)}
    return sorted(p for p in found if os.path.isdir(p))


def _start_host(host: Host, log: Path, machine: Optional[fleet_machine.Machine] = None) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        HOST_NAME=host.name,
        HOST_ROOT=host.root,
        NO_PYTHON="1" if host.no_python else "0",
        NIX_TMPFS_SIZE=host.nix_tmpfs,
        PRIVATE_DIRS=" ".join(PRIVATE_DIRS),
        ACCOUNT_FILES=" ".join(ACCOUNT_FILES) if host.sudo else "",
        NIX_DAEMON="1" if host.sudo else "0",
        PYTHON_BIN_DIRS=" ".join(python_bin_dirs()),
        PYTHON_LIB_DIRS=" ".join(python_lib_dirs()),
    )
    init = ["tini", "-s", "--", "/bin/sh", str(HOST_INIT)]
    if machine:
        argv = fleet_machine.host_argv(machine, not host.shared_pid, init)
    else:
        argv = [
            "unshare",
            "--mount",
            "--uts",
            "--pid",
            "--fork",
            "--mount-proc",
            "--propagation",
            "private",
            "--kill-child=SIGKILL",
        ] + init
    with open(log, "ab") as out:
        return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)


def _listening(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait_ready(host: Host, proc: subprocess.Popen, log: Path, deadline: float) -> None:
    if host.systemd:
        try:
            systemd_fleet.wait_booted(host.name, proc, log, deadline)
        except systemd_fleet.SystemdHostError as exc:
            raise FleetError(str(exc))
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise FleetError("host %s exited during start-up: %s" % (host.name, log.read_text().strip()))
        # (A systemd host's PID 1 changes with every boot: systemd_fleet finds it when asked.)
        if not host.systemd and not host.init_pid:
            children = [fleet_machine.host_init(proc.pid)] if host.machine else _children(proc.pid)
            if children and children[0]:
                host.init_pid = children[0]
                host.pid_namespace = _pid_namespace(host.init_pid)
        if (host.systemd or host.init_pid) and _listening(host.address, host.port):
            return
        time.sleep(0.05)
    raise FleetError(
        "host %s: sshd did not listen on %s:%d in time: %s"
        % (host.name, host.address, host.port, log.read_text().strip())
    )


def host_names(count: int) -> List[str]:
    return ["node%02d" % i for i in range(1, count + 1)]


def up(
    state: Path,
    count: int,
    no_python: Iterable[str] = (),
    first_address: str = "127.0.0.11",
    port: int = 2222,
    http_port: int = 8080,
    names: Optional[List[str]] = None,
    timeout: float = 30.0,
    nix_tmpfs: Optional[Dict[str, str]] = None,
    deploy_users: Optional[Dict[str, DeployUser]] = None,
    systemd: bool = False,
    shared_pid: Iterable[str] = (),
) -> List[Host]:
    """Start a fleet in ``state`` (which must not hold a running fleet) and return its hosts.
    Hosts named in ``deploy_users`` get a nix-daemon and a sudo ``deploy`` user, which ssh logs in as.
    ``systemd``: every host boots systemd (systemd_fleet.py; they all have Python: no --no-python there).
    ``shared_pid``: the fleet runs in a machine of its own (fleet_machine.py) whose PID namespace
    these hosts share (as chroots); the other hosts nest theirs in it (as containers)."""
    state = state.resolve()
    if (state / STATE_FILE).exists():
        raise FleetError("%s already holds a fleet; run 'fleet down --state %s' first" % (state, state))
    names = names or host_names(count)
    no_python = set(no_python)
    nix_tmpfs = dict(nix_tmpfs or {})
    deploy_users = dict(deploy_users or {})
    shared_pid = set(shared_pid)
    unknown = (no_python | set(nix_tmpfs) | set(deploy_users) | shared_pid) - set(names)
    if unknown:
        raise FleetError(
            "--no-python/--nix-tmpfs/--deploy-user/--shared-pid name unknown hosts: %s" % ", ".join(sorted(unknown))
        )
    if systemd and (no_python or shared_pid):
        raise FleetError(
            "systemd hosts have Python and PID 1 of their own: --no-python and --shared-pid are for namespace hosts"
        )
    system = _systemd_base() if systemd else None
    base = ipaddress.IPv4Address(first_address)
    if not base.is_loopback or not (base + len(names) - 1).is_loopback:
        raise FleetError("fleet addresses must stay inside 127.0.0.0/8")
    (state / "client").mkdir(parents=True, exist_ok=True)
    private_key = state / "client" / "id_ed25519"
    fleet_host.keygen(private_key, "nixfleet-test-client")
    client_pub = (state / "client" / "id_ed25519.pub").read_text()
    known_hosts = state / "client" / "known_hosts"
    hosts = [
        _host(
            name,
            str(base + i),
            port,
            http_port,
            state,
            deploy_users.get(name),
            no_python=name in no_python,
            nix_tmpfs=nix_tmpfs.get(name, ""),
            private_key=str(private_key),
            known_hosts=str(known_hosts),
            systemd=systemd,
        )
        for i, name in enumerate(names)
    ]
    known_hosts.write_text("".join(fleet_host.prepare(h, client_pub, system) for h in hosts))
    procs = []
    machine = None
    try:
        if shared_pid:
            try:
                machine = fleet_machine.start(state / "machine.log")
            except fleet_machine.MachineError as exc:
                raise FleetError(str(exc))
            for host in hosts:
                host.shared_pid = host.name in shared_pid
                host.machine_unshare_pid, host.machine_init_pid = machine.unshare_pid, machine.init_pid
                host.machine_pid_namespace = machine.pid_namespace
        for host in hosts:
            log = state / "hosts" / host.name / "init.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            if system:
                procs.append((host, systemd_fleet.start(host.name, log.parent, system, log, host.nix_tmpfs), log))
            else:
                procs.append((host, _start_host(host, log, machine), log))
            host.unshare_pid = procs[-1][1].pid
        deadline = time.monotonic() + timeout
        for host, proc, log in procs:
            _wait_ready(host, proc, log, deadline)
    except BaseException:
        _stop_hosts([started[0] for started in procs])
        if machine:
            fleet_machine.stop(machine)
        raise
    _save(state, hosts)
    return hosts


def _host(
    name: str, address: str, port: int, http_port: int, state: Path, deploy: Optional[DeployUser], **settings
) -> Host:
    host_dir = state / "hosts" / name
    root = systemd_fleet.upper_of(host_dir) if settings.get("systemd") else host_dir / "root"
    host = Host(name=name, address=address, port=port, user="root", http_port=http_port, root=str(root), **settings)
    if deploy:
        host.user, host.sudo, host.trusted = DEPLOY_USER, deploy.sudo, deploy.trusted
        host.password, host.root_password = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    return host


def _systemd_base() -> Path:
    try:
        return systemd_fleet.base_root()
    except systemd_fleet.SystemdHostError as exc:
        raise FleetError(str(exc))


def _save(state: Path, hosts: List[Host]) -> None:
    (state / STATE_FILE).write_text(json.dumps([dataclasses.asdict(h) for h in hosts], indent=2))


def load(state: Path) -> List[Host]:
    path = state.resolve() / STATE_FILE
    if not path.exists():
        raise FleetError("no fleet in %s (%s is missing)" % (state, path))
    return [Host(**entry) for entry in json.loads(path.read_text())]


def _stop_hosts(hosts: List[Host], timeout: float = 10.0) -> None:
    for host in [h for h in hosts if h.systemd and h.unshare_pid]:
        survivors = systemd_fleet.stop(host.unshare_pid)
        if survivors:
            raise FleetError("host %s: processes survived: %s" % (host.name, survivors))
    hosts = [h for h in hosts if not h.systemd]
    for machine in {h.machine_init_pid: h.machine for h in hosts if h.machine}.values():
        survivors = fleet_machine.stop(machine, timeout)
        if survivors:
            raise FleetError("the fleet machine's processes %s survived" % survivors)
    for host in hosts:
        # SIGKILL to PID 1 of the host's namespace kills every process in it.
        if host.init_pid:
            _kill(host.init_pid, signal.SIGKILL)
        if host.unshare_pid:
            _kill(host.unshare_pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    for host in hosts:
        if host.unshare_pid:
            try:
                os.waitpid(host.unshare_pid, 0)
            except ChildProcessError:
                pass
        while host.pid_namespace and processes_in(host.pid_namespace):
            if time.monotonic() > deadline:
                raise FleetError("host %s: processes %s survived" % (host.name, processes_in(host.pid_namespace)))
            time.sleep(0.05)


def mounts_under(path: Path) -> List[str]:
    """Mount points (as this process sees them) below ``path``; ``path`` itself may be one (a clone
    bound into a container, a tmpfs), which no fleet makes."""
    prefix = str(path.resolve())
    with open("/proc/self/mountinfo") as info:
        points = [line.split()[4] for line in info]
    return [p for p in points if p.startswith(prefix + "/")]


def down(state: Path) -> None:
    """Stop every process of every host of the fleet in ``state`` and remove the state."""
    state = state.resolve()
    _stop_hosts(load(state))
    leftover = mounts_under(state)
    if leftover:
        raise FleetError("mounts left behind: %s" % ", ".join(leftover))
    shutil.rmtree(state)


def exec_argv(host: Host, command: List[str]) -> List[str]:
    """An argv that runs ``command`` inside ``host``'s namespaces, without ssh (for inspection)."""
    if host.systemd:
        return systemd_fleet.exec_argv(host.unshare_pid, command)
    return ["nsenter", "-t", str(host.init_pid), "-m", "-u", "-p", "--"] + command
