"""The summed memory of every Nix process under a measured command, sampled every ~0.1 s.

A Nix process is one whose program (``argv[0]``, or its command name) is a Nix program: the
machine's ``nix``, or a Debian 13 root's ``nix`` run through its loader with ``--argv0 nix``
(tests/fixtures/real-flake/nix-2.18), whose command name is the loader's. The sampler walks the
measured process's descendants (bench/processes.py's ``descendants``), sums the resident memory of
the Nix ones (``/proc/PID/statm``) and keeps the peak of that sum, each process's own peak and the
most Nix processes seen at once. With a ``limit``, a sum above it stops the run: the Nix processes
(and, for a command, its process group) are killed by pid and the run is marked ``over_limit``.
"""

from __future__ import annotations

import os
import resource
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, TypeVar

from measure import NIX_PROGRAMS
from processes import Sampler, descendants, reap, spawn

PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 2**20
T = TypeVar("T")


def program(cmdline: Sequence[str]) -> str:
    """The program a command line runs: ``argv[0]``'s name, or the ``--argv0`` a dynamic loader was
    given (``ld-linux-x86-64.so.2 --argv0 nix … /usr/bin/nix``: /proc shows the loader's command line)."""
    if not cmdline:
        return ""
    name = os.path.basename(cmdline[0])
    if name.startswith("ld-linux") and "--argv0" in cmdline[:-1]:
        return os.path.basename(cmdline[cmdline.index("--argv0") + 1])
    return name


def _is_nix(pid: int) -> bool:
    try:
        words = Path("/proc/%d/cmdline" % pid).read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False
    return program(words[:6]) in NIX_PROGRAMS


def machine_cpu() -> float:
    """CPU seconds every process of the machine has used so far (/proc/stat: user, nice, system,
    irq, softirq, steal): the difference over a run, minus the run's own CPU, is what others used."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _rss(pid: int) -> int:
    try:
        return int(Path("/proc/%d/statm" % pid).read_text().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


@dataclass
class Usage:
    """One measured run: wall seconds, CPU seconds (user + system of the command and every descendant
    it reaped), the peak of the summed RSS of its Nix processes, each one's peak (in start order),
    the most that ran at once."""

    wall: float = 0.0
    cpu: float = 0.0
    peak_nix_rss: int = 0
    process_peaks: List[int] = field(default_factory=list)
    max_concurrent: int = 0
    over_limit: bool = False
    others_cpu: float = 0.0  # CPU seconds the machine's other processes used during the run

    def others(self, since: float) -> "Usage":
        self.others_cpu = max(0.0, machine_cpu() - since - self.cpu)
        return self

    def to_dict(self) -> Dict:
        return {
            "wall_s": round(self.wall, 1),
            "cpu_s": round(self.cpu, 1),
            "peak_nix_rss_mib": round(self.peak_nix_rss / MIB),
            "nix_processes": len(self.process_peaks),
            "nix_process_peaks_mib": [round(p / MIB) for p in self.process_peaks],
            "max_concurrent_nix": self.max_concurrent,
            "over_limit": self.over_limit,
            "others_cpu_s": round(self.others_cpu, 1),
        }


class NixMemorySampler(Sampler):
    def __init__(
        self,
        root: int,
        limit: Optional[int] = None,
        on_limit: Optional[Callable[[List[int]], None]] = None,
        interval: float = 0.1,
    ) -> None:
        super().__init__(interval)
        self.root, self.limit, self.on_limit = root, limit, on_limit
        self.peak = 0
        self.per_pid: Dict[int, int] = {}  # insertion order = the order they were first seen
        self.max_concurrent = 0
        self.over_limit = False

    def sample(self) -> Tuple[int, List[int]]:
        total, pids = 0, []
        for pid in descendants(self.root):
            if pid != self.root and _is_nix(pid):
                rss = _rss(pid)
                total += rss
                pids.append(pid)
                self.per_pid[pid] = max(self.per_pid.get(pid, 0), rss)
        return total, pids

    def tick(self) -> None:
        total, pids = self.sample()
        self.peak = max(self.peak, total)
        self.max_concurrent = max(self.max_concurrent, len(pids))
        if self.limit and total > self.limit and not self.over_limit:
            self.over_limit = True
            if self.on_limit:
                self.on_limit(pids)

    def fill(self, usage: Usage) -> Usage:
        usage.peak_nix_rss = self.peak
        usage.process_peaks = list(self.per_pid.values())
        usage.max_concurrent = self.max_concurrent
        usage.over_limit = self.over_limit
        return usage


def _kill(pids: Sequence[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def run_command(
    argv: Sequence[str], env: Mapping[str, str], log: Path, cwd: Optional[Path] = None, limit: Optional[int] = None
) -> Tuple[int, Usage]:
    """Run ``argv`` (output to ``log``) measured: (exit code, usage). Over ``limit`` bytes of Nix
    memory its process group is killed."""
    with open(log, "w") as out:
        busy = machine_cpu()
        start = time.monotonic()
        proc = spawn(argv, env, out, cwd, new_session=True)

        def stop_group(pids: List[int]) -> None:
            _kill(pids)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass

        sampler = NixMemorySampler(proc.pid, limit, stop_group)
        sampler.start()
        try:
            usage = reap(proc)  # CPU of the command and what it reaped
        finally:
            sampler.stop()
    run = sampler.fill(Usage(time.monotonic() - start, usage.ru_utime + usage.ru_stime))
    return proc.returncode, run.others(busy)


def run_in_process(work: Callable[[], T], limit: Optional[int] = None) -> Tuple[Optional[T], Usage]:
    """Run ``work`` (which starts Nix processes of this process, e.g. through NixCli in threads)
    measured: (its value, usage); CPU is what this process's reaped children used meanwhile. Over
    ``limit`` bytes of Nix memory those Nix processes are killed (``work`` then usually raises; the
    value is None)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    sampler = NixMemorySampler(os.getpid(), limit, _kill)
    busy = machine_cpu()
    start = time.monotonic()
    sampler.start()
    value: Optional[T] = None
    try:
        value = work()
    except Exception:  # noqa: BLE001 - a run killed over the limit fails; anything else is raised
        if not sampler.over_limit:
            raise
    finally:
        sampler.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return value, sampler.fill(Usage(time.monotonic() - start, cpu)).others(busy)
