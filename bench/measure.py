"""Measuring one command: wall time, controller CPU, Nix processes started, loopback bytes, peak controller memory."""

from __future__ import annotations

import os
import statistics
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

from processes import Sampler, descendants, reap, spawn

# Every Nix program the controller may start; the shims count them (one line per process).
NIX_PROGRAMS = ("nix", "nix-build", "nix-store", "nix-env", "nix-copy-closure", "nix-instantiate")


@dataclass
class Sample:
    """One measured run of one command."""

    seconds: float
    nix_processes: int
    loopback_bytes: int
    # Controller CPU (user + system) of the command and the descendants it reaped: the ssh
    # master connections that outlive the run (ControlPersist) are not in it.
    cpu_seconds: float = 0.0
    nix_evals: int = 0  # of the Nix processes, how many were `nix eval`
    peak_pss_kib: int = 0
    peak_rss_kib: int = 0
    processes_seen: int = 0

    def to_dict(self) -> Dict:
        return asdict(self)


@dataclass
class Stats:
    median: float
    low: float
    high: float
    runs: List[float] = field(default_factory=list)

    @classmethod
    def of(cls, values: Sequence[float]) -> "Stats":
        return cls(statistics.median(values), min(values), max(values), list(values))


class CommandFailed(RuntimeError):
    """A measured command did not succeed: the benchmark stops rather than report a broken run."""


def install_nix_shims(directory: Path, log: Path) -> None:
    """Wrappers that log every Nix process started through PATH (program, first argument, pid), then
    exec the real program."""
    directory.mkdir(parents=True, exist_ok=True)
    for program in NIX_PROGRAMS:
        real = _which(program, exclude=directory)
        shim = directory / program
        shim.write_text('#!/bin/sh\necho "%s ${1:-} $$" >> %s\nexec %s "$@"\n' % (program, log, real))
        shim.chmod(0o755)


def _which(program: str, exclude: Path) -> str:
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(entry) / program
        if Path(entry).resolve() != exclude.resolve() and os.access(str(candidate), os.X_OK):
            return str(candidate)
    raise CommandFailed("%s is not on PATH" % program)


def loopback_bytes() -> int:
    """Bytes received on the loopback interface so far (every byte sent to a fleet host crosses it)."""
    for line in Path("/proc/net/dev").read_text().splitlines():
        name, _sep, counters = line.partition(":")
        if name.strip() == "lo":
            return int(counters.split()[0])
    raise CommandFailed("no loopback interface in /proc/net/dev")


def _memory_kib(pid: int) -> Dict[str, int]:
    values = {}
    try:
        for line in Path("/proc/%d/smaps_rollup" % pid).read_text().splitlines():
            key, _sep, rest = line.partition(":")
            if key in ("Rss", "Pss"):
                values[key] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return values


class MemorySampler(Sampler):
    """Samples the summed PSS and RSS of a process tree (the controller's whole deploy) until stopped.

    PSS counts pages shared by forked workers once, so its sum is what the tree really costs; the
    RSS sum counts them in every worker and overstates it.
    """

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(interval)
        self.pid = pid
        self.peak_pss = 0
        self.peak_rss = 0
        self.seen: set = set()

    def tick(self) -> None:
        pss = rss = 0
        for pid in descendants(self.pid):
            self.seen.add(pid)
            memory = _memory_kib(pid)
            pss += memory.get("Pss", 0)
            rss += memory.get("Rss", 0)
        self.peak_pss = max(self.peak_pss, pss)
        self.peak_rss = max(self.peak_rss, rss)


def measure(
    argv: Sequence[str],
    env: Mapping[str, str],
    nix_log: Path,
    log: Path,
    cwd: Optional[Path] = None,
    memory: bool = False,
    timeout: float = 1800,
) -> Sample:
    """Run ``argv`` once and measure it; its output goes to ``log``. Raises when it fails."""
    nix_log.write_text("")
    with open(log, "w") as out:
        before = loopback_bytes()
        start = time.monotonic()
        proc = spawn(argv, env, out, cwd)
        sampler = MemorySampler(proc.pid) if memory else None
        if sampler:
            sampler.start()
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            usage = reap(proc)  # the command's CPU time, with that of every descendant it waited for
            rc = proc.returncode
        finally:
            killer.cancel()
            if sampler:
                sampler.stop()
        seconds = time.monotonic() - start
        crossed = loopback_bytes() - before
    if rc != 0:
        raise CommandFailed("%s failed (exit %d); its output is in %s" % (" ".join(argv[:3]), rc, log))
    started = [line.split() for line in nix_log.read_text().splitlines() if line.strip()]
    sample = Sample(
        round(seconds, 3),
        len(started),
        crossed,
        cpu_seconds=round(usage.ru_utime + usage.ru_stime, 3),
        nix_evals=len([words for words in started if words[:2] == ["nix", "eval"]]),
    )
    if sampler:
        sample.peak_pss_kib, sample.peak_rss_kib, sample.processes_seen = (
            sampler.peak_pss,
            sampler.peak_rss,
            len(sampler.seen),
        )
    return sample
