"""A measured command's processes, for both benchmarks' measurements (bench/measure.py,
bench/nix_sampler.py): started with its output to a log, reaped with ``wait4`` (its CPU, with that
of every descendant it waited for), its process tree found in /proc and sampled in a thread."""

from __future__ import annotations

import abc
import os
import resource
import subprocess
import threading
from pathlib import Path
from typing import IO, List, Mapping, Optional, Sequence


def spawn(
    argv: Sequence[str], env: Mapping[str, str], out: IO[str], cwd: Optional[Path] = None, new_session: bool = False
) -> subprocess.Popen:
    """Start ``argv`` with its output (stdout and stderr) to ``out`` and no input; with
    ``new_session``, as the leader of its own process group."""
    return subprocess.Popen(
        list(argv),
        env=dict(env),
        cwd=str(cwd) if cwd else None,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=new_session,
    )


def reap(proc: subprocess.Popen) -> resource.struct_rusage:
    """Wait for ``proc`` (its exit code in ``proc.returncode``): wait4's usage, the CPU of the command
    and of every descendant it waited for."""
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage


def _children(pid: int) -> List[int]:
    children: List[int] = []
    try:
        tasks = list(Path("/proc/%d/task" % pid).iterdir())
    except OSError:
        return children
    for task in tasks:
        try:
            children.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    return children


def descendants(pid: int) -> List[int]:
    """``pid`` and every process under it, now."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(_children(current))
    return found


class Sampler(threading.Thread, metaclass=abc.ABCMeta):
    """Calls ``tick`` every ``interval`` seconds, in a daemon thread, until ``stop``."""

    def __init__(self, interval: float) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self._stop_event = threading.Event()

    @abc.abstractmethod
    def tick(self) -> None:
        """One sample (what a sampler measures)."""

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.tick()
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
