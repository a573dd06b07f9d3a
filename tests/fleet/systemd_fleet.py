"""The fleet's systemd hosts: real systemd as PID 1, sshd and nix-daemon as units, real reboots.

Each host boots (``systemd-nspawn --boot``) an overlay of the shared base root that
``systemd-base.sh`` makes once (Debian trixie: systemd 257, Nix 2.26) and a writable layer of its
own under the fleet's state directory, which holds everything that is the host's: ``/nix`` (store,
profiles, boot entry), hostname, machine id, host key, sshd's configuration (listening on the host's
own loopback address; the machine's network is shared), nix.conf and the accounts of its ``deploy``
user. ``systemd-host.sh`` runs it in a mount namespace of its own and boots it again when it
reboots (nspawn exits 133), with a new boot id each time. A unit of the layer,
``nixfleet-boot.service``, does at boot what NixOS's stage 2 does for the fixture's generations:
``/run/booted-system`` and ``/run/current-system`` become the boot entry's generation, whose
services it starts.

Stopping kills the host's supervisor, nspawn and the container's PID 1 (and with it every process
of the host) with SIGKILL; the mounts go with their namespace.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Optional

from fleet_processes import descendants, kill, pid_namespace, processes_in

HERE = Path(__file__).resolve().parent
BASE_SCRIPT = HERE / "systemd-base.sh"
HOST_SCRIPT = HERE / "systemd-host.sh"
BOOT_ENTRY = "/nix/var/nixfleet/boot/default"
# Early-boot units with nothing to do in a container (nspawn mounts / and /dev itself; the journal
# stays in /run): masked, so one that now and then fails at boot cannot make a fresh host "degraded".
MASKED_UNITS = (
    "systemd-remount-fs.service",
    "systemd-tmpfiles-setup-dev.service",
    "systemd-tmpfiles-setup-dev-early.service",
    "systemd-journal-flush.service",
)
BOOT_UNIT = """\
[Unit]
Description=nixfleet: activate the boot entry's generation (what NixOS's stage 2 does)
After=local-fs.target nix-daemon.socket

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh /etc/nixfleet-boot.sh
"""
BOOT_SCRIPT = """\
#!/bin/sh
# nixfleet-boot.service: the generation the boot entry names is the booted and the running one.
set -eu
[ -e %(entry)s ] || exit 0
system=$(readlink -f %(entry)s)
ln -sfn "$system" /run/booted-system
exec "$system/bin/switch-to-configuration" test
""" % {"entry": BOOT_ENTRY}


class SystemdHostError(RuntimeError):
    """A systemd host that could not be prepared, booted or stopped."""


def base_root() -> Path:
    """The shared base root (built once, cached; see systemd-base.sh)."""
    proc = subprocess.run(
        ["bash", str(BASE_SCRIPT)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False
    )
    if proc.returncode != 0:
        raise SystemdHostError("systemd-base.sh failed (exit %d): %s" % (proc.returncode, proc.stderr[-3000:]))
    return Path(proc.stdout.strip().splitlines()[-1])


def layer_of(host_dir: Path) -> Path:
    return host_dir / "layer"


def upper_of(host_dir: Path) -> Path:
    """Where the host's own files are (written before boot; the host's changes appear here too)."""
    return layer_of(host_dir) / "upper"


def prepare_layer(upper: Path, name: str) -> None:
    """The host's identity and boot unit in its writable layer (keys, nix.conf, accounts: the caller)."""
    etc = upper / "etc"
    (etc / "systemd/system/multi-user.target.wants").mkdir(parents=True, exist_ok=True)
    (etc / "hostname").write_text(name + "\n")
    (etc / "machine-id").write_text(secrets.token_hex(16) + "\n")
    (etc / "systemd/system/nixfleet-boot.service").write_text(BOOT_UNIT)
    os.symlink("../nixfleet-boot.service", str(etc / "systemd/system/multi-user.target.wants/nixfleet-boot.service"))
    (etc / "nixfleet-boot.sh").write_text(BOOT_SCRIPT)
    for unit in MASKED_UNITS:
        os.symlink("/dev/null", str(etc / "systemd/system" / unit))
    (upper / "nix/var/nixfleet").mkdir(parents=True, exist_ok=True)


def start(name: str, host_dir: Path, base: Path, log: Path, nix_tmpfs: str = "") -> subprocess.Popen:
    """Boot the host (in the background); its supervisor is the returned process, leader of its session.
    ``nix_tmpfs``: a size (``24M``) makes the host's /nix a tmpfs that small."""
    # The unified cgroup hierarchy (v2) inside, as NixOS has, also where the machine runs a hybrid one:
    # systemd 256+ refuses to boot on cgroup v1.
    env = dict(
        os.environ,
        HOST_NAME=name,
        BASE=str(base),
        LAYER=str(layer_of(host_dir)),
        SYSTEMD_NSPAWN_UNIFIED_HIERARCHY="1",
        NIX_TMPFS_SIZE=nix_tmpfs,
    )
    env.pop("NIX_CONFIG", None)
    argv = ["unshare", "--mount", "--propagation", "private", "/bin/sh", str(HOST_SCRIPT)]
    with open(log, "ab") as out:
        return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)


def _ns_pid(pid: int) -> Optional[int]:
    """The pid of ``pid`` in its own (innermost) PID namespace."""
    try:
        for line in Path("/proc/%d/status" % pid).read_text().splitlines():
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    except OSError:
        return None
    return None


def init_pid(supervisor: int) -> int:
    """PID 1 of the host's current boot (as this process sees it); 0 while it is not (yet) up."""
    for pid in descendants(supervisor):
        if _ns_pid(pid) == 1:
            return pid
    return 0


def exec_argv(supervisor: int, command: List[str]) -> List[str]:
    """Run ``command`` inside the host's current boot (its mount, UTS and PID namespaces)."""
    pid = init_pid(supervisor)
    if not pid:
        raise SystemdHostError("the host of supervisor %d is not running" % supervisor)
    return ["nsenter", "-t", str(pid), "-m", "-u", "-p", "--"] + command


def system_state(supervisor: int) -> str:
    """``systemctl is-system-running`` inside the host ("" while it cannot answer)."""
    try:
        proc = subprocess.run(
            exec_argv(supervisor, ["systemctl", "is-system-running"]),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            universal_newlines=True,
            timeout=10,
            check=False,
        )
    except (SystemdHostError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout.strip()


def _inside(supervisor: int, command: List[str]) -> str:
    return subprocess.run(
        exec_argv(supervisor, command),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        check=False,
    ).stdout


def wait_booted(name: str, supervisor: subprocess.Popen, log: Path, deadline: float, retries: int = 1) -> None:
    """Until systemd inside says the boot finished (``running``). A boot that ends ``degraded`` (a
    failed unit) is logged with the units' status and the host rebooted, up to ``retries`` times;
    then it is an error."""
    state = ""
    while time.monotonic() < deadline:
        if supervisor.poll() is not None:
            raise SystemdHostError("host %s stopped while booting: %s" % (name, log.read_text()[-3000:]))
        state = system_state(supervisor.pid)
        if state == "running":
            return
        if state == "degraded":
            failed = _inside(supervisor.pid, ["systemctl", "--failed", "--plain", "--no-legend"])
            units = [line.split()[0] for line in failed.splitlines() if line.strip()]
            status = _inside(supervisor.pid, ["systemctl", "status", "--no-pager", "-n", "20"] + units)
            with open(log, "a") as out:
                out.write("nixfleet: %s booted with failed units:\n%s\n" % (name, status))
            if retries <= 0:
                raise SystemdHostError("host %s booted with failed units: %s\n%s" % (name, failed.strip(), status))
            retries -= 1
            before = init_pid(supervisor.pid)
            _inside(supervisor.pid, ["systemctl", "reboot"])
            while init_pid(supervisor.pid) in (0, before) and time.monotonic() < deadline:
                time.sleep(0.1)
        time.sleep(0.2)
    raise SystemdHostError(
        "host %s did not finish booting in time (systemd says %r): %s" % (name, state, log.read_text()[-3000:])
    )


def stop(supervisor: int, timeout: float = 15.0) -> Dict[str, List[int]]:
    """SIGKILL the supervisor, nspawn and every boot's PID 1; wait until none of their processes is left.
    Returns the processes that survived (empty when the host is gone)."""
    pids = descendants(supervisor)
    namespaces = {pid_namespace(pid) for pid in pids if _ns_pid(pid) == 1} - {""}
    for pid in [supervisor] + pids:
        kill(pid, signal.SIGKILL)
    try:
        os.waitpid(supervisor, 0)
    except ChildProcessError:
        pass
    deadline = time.monotonic() + timeout
    while True:
        left = {ns: processes_in(ns) for ns in namespaces}
        left = {ns: procs for ns, procs in left.items() if procs}
        alive = [pid for pid in pids if os.path.exists("/proc/%d" % pid) and _ns_pid(pid) is not None]
        if not left and not alive:
            return {}
        if time.monotonic() > deadline:
            left["outside"] = alive
            return left
        time.sleep(0.05)
