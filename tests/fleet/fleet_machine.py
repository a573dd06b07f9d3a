"""A fleet "machine": one PID namespace that holds a whole namespace fleet, as one real machine holds
its chroots and containers.

Hosts named ``shared_pid`` run in the machine's own PID namespace (as chroots do: their ``/proc``
shows every process of the machine, the other hosts' too); the others get a PID namespace of their
own nested in it (as containers do: the machine sees their processes, they see only theirs).
Nothing outside the fleet is in the machine, so a host that looks at its ``/proc`` sees the fleet's
processes, never the rest of this machine (other tests' fleets, the developer's own nix-daemon).
Killing the machine's PID 1 kills every process of every host in it.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import List

from fleet_processes import descendants, kill, pid_namespace, processes_in

# The machine's PID 1: tini, reaping whatever a host leaves orphaned.
MACHINE_ARGV = [
    "unshare",
    "--mount",
    "--pid",
    "--fork",
    "--mount-proc",
    "--propagation",
    "private",
    "--kill-child=SIGKILL",
    "tini",
    "-s",
    "--",
    "sleep",
    "infinity",
]


class MachineError(RuntimeError):
    """The fleet machine could not be started."""


@dataclasses.dataclass
class Machine:
    unshare_pid: int  # the process this one started (waited for when stopping)
    init_pid: int  # the machine's PID 1, as this process sees it
    pid_namespace: str


def start(log: Path, timeout: float = 10.0) -> Machine:
    with open(log, "ab") as out:
        proc = subprocess.Popen(MACHINE_ARGV, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tini = [p for p in descendants(proc.pid) if _comm(p) == "tini"]
        if tini:
            return Machine(proc.pid, tini[0], pid_namespace(tini[0]))
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    kill(proc.pid, signal.SIGKILL)
    raise MachineError("the fleet machine did not start: %s" % log.read_text().strip())


def host_argv(machine: Machine, own_pid_namespace: bool, init: List[str]) -> List[str]:
    """Start a host's ``init`` (tini and host-init.sh) inside the machine, in mount and UTS namespaces
    of its own, and a PID namespace of its own unless it shares the machine's."""
    pid = ["--pid", "--mount-proc"] if own_pid_namespace else []
    return (
        ["nsenter", "-t", str(machine.init_pid), "-p", "-m", "--", "unshare", "--mount", "--uts"]
        + pid
        + ["--fork", "--propagation", "private", "--kill-child=SIGKILL"]
        + init
    )


def host_init(started: int) -> int:
    """The host's tini under the process ``host_argv`` started (0 while it has not started yet)."""
    tini = [p for p in descendants(started) if _comm(p) == "tini"]
    return tini[0] if tini else 0


def stop(machine: Machine, timeout: float = 10.0) -> List[int]:
    """SIGKILL the machine's PID 1 (and with it every process in it and in the namespaces nested in
    it); returns the processes left after ``timeout`` (none when it is gone)."""
    kill(machine.init_pid, signal.SIGKILL)
    kill(machine.unshare_pid, signal.SIGKILL)
    try:
        os.waitpid(machine.unshare_pid, 0)
    except ChildProcessError:
        pass
    deadline = time.monotonic() + timeout
    while processes_in(machine.pid_namespace) and time.monotonic() < deadline:
        time.sleep(0.05)
    return processes_in(machine.pid_namespace)


def _comm(pid: int) -> str:
    try:
        return Path("/proc/%d/comm" % pid).read_text().strip()
    except OSError:
        return ""
