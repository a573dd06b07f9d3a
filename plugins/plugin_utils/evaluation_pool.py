# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evaluate many hosts with a pool of ``nix eval`` processes, in chunks sized by a memory budget.

A real NixOS host costs seconds of CPU and hundreds of MB to evaluate, and one ``nix eval`` frees
nothing while the flake's outputs hold every configuration it evaluated: its memory grows with each
host (1 / 4 / 10 real hosts: 0.8 / 2.7 / 6.6 GB). The pool keeps the processes running at once
within ``budget`` bytes together:

* the first chunk runs alone, with as many hosts as the budget holds at 1 GiB a host (a real host
  alone: 0.8 GB), at most :data:`MIN_HOSTS_PER_PROCESS`, so a small fleet is one process;
* what a host costs is the most any process needed per host so far (its peak, ``wait4``'s
  ``ru_maxrss``, over its hosts: start-up included, so it errs on the safe side for larger chunks);
* as many processes run at once as fit (at most ``workers``), each with as many hosts as fit its
  share of the budget, and no more than an even split of what is left over those processes (a rest
  of :data:`MIN_HOSTS_PER_PROCESS` hosts or fewer in one process where it fits: start-up is paid once
  a process);
* a host that alone needs more than the budget is named in ``over_budget``; after it, processes run
  one at a time;
* a chunk that fails as a whole (an error ``tryEval`` cannot catch) is evaluated again host by
  host, so a broken host never fails the others; a host that fails alone keeps Nix's message;
  nixpkgs refusing the controller's Nix (:class:`NixTooOld`) ends the evaluation: every host would.
"""

from __future__ import annotations

import collections
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils.errors import NixError, NixTooOld, nix_error_text

MIB = 2 ** 20
# What the evaluation may use at once by default: fits an AWX execution pod of 4 GiB with room for
# ansible-playbook and its forks. README ("Evaluation memory") says how to choose it.
DEFAULT_BUDGET_MIB = 3072
# With fewer hosts than this per process, start-up (fetching and parsing the flake) outweighs what
# evaluating in parallel gains; chunks are smaller only when memory says so.
MIN_HOSTS_PER_PROCESS = 4
# What a host is taken to cost before one was measured (a real NixOS host alone: about 0.8 GB).
UNMEASURED_HOST_RSS = 1024 * MIB


def usable_cores() -> int:
    """The cores this process may run on (one evaluating process each, by default)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def pool_settings(workers: int, budget_mib: int, what: str = "") -> Tuple[int, int]:
    """``(workers, budget in bytes)`` from the options (``0`` workers: one per core); ValueError for
    values that mean nothing (``what`` prefixes the option names, e.g. ``nixos_deploy_``)."""
    if workers < 0:
        raise ValueError("%seval_workers must be 0 (one per core) or more, not %d" % (what, workers))
    if budget_mib < 64:
        raise ValueError("%seval_memory_budget must be at least 64 (MiB), not %d" % (what, budget_mib))
    return workers or usable_cores(), budget_mib * MIB


@dataclass(frozen=True)
class ChunkResult:
    """One process's answer: a value per host, and what the process cost."""

    values: Dict[str, Any]
    max_rss: int
    cpu: float = 0.0


Evaluate = Callable[[List[str]], ChunkResult]  # raises NixError when the process fails
Span = Tuple[float, float, int]  # a process's start, end and peak memory


@dataclass
class PoolReport:
    """What the evaluation took: processes, their chunk sizes, the largest process's peak, the sum
    of the peaks of processes that ran at the same time (at most what they held together), and the
    cost model it learnt."""

    processes: int = 0
    chunk_sizes: List[int] = field(default_factory=list)
    peak_rss: int = 0
    peak_concurrent_rss: int = 0
    per_host_rss: int = 0
    cpu: float = 0.0
    over_budget: Dict[str, int] = field(default_factory=dict)  # host -> its peak, alone
    failed: Dict[str, str] = field(default_factory=dict)

    def to_result(self) -> Dict[str, Any]:
        return {"processes": self.processes, "chunk_sizes": self.chunk_sizes,
                "peak_rss_mib": round(self.peak_rss / MIB, 1),
                "peak_concurrent_rss_mib": round(self.peak_concurrent_rss / MIB, 1),
                "per_host_rss_mib": round(self.per_host_rss / MIB, 1), "cpu_seconds": round(self.cpu, 2),
                "over_budget_mib": {host: round(rss / MIB, 1) for host, rss in self.over_budget.items()}}


class EvaluationPool:
    """Runs ``evaluate`` over chunks of hosts: at most ``workers`` at once, within ``budget`` bytes."""

    def __init__(self, evaluate: Evaluate, budget: int, workers: int,
                 min_hosts: int = MIN_HOSTS_PER_PROCESS) -> None:
        if budget <= 0 or workers <= 0:
            raise ValueError("the evaluation needs a positive memory budget and at least one worker")
        self._evaluate = evaluate
        self.budget = budget
        self.workers = workers
        self.min_hosts = max(1, min_hosts)
        self.report = PoolReport()
        self._per_host: Optional[int] = None  # the most a process needed per host so far
        self._spans: List[Span] = []

    def concurrency(self) -> int:
        """How many processes may run at once: one until a chunk was measured, then as many as fit."""
        if self._per_host is None:
            return 1
        return max(1, min(self.workers, self.budget // max(1, self._per_host)))

    def first_chunk_size(self) -> int:
        """Hosts of the first process, which runs alone: what the budget holds at 1 GiB a host, at most
        :data:`MIN_HOSTS_PER_PROCESS` (so a small fleet is one process)."""
        return max(1, min(self.min_hosts, self.budget // UNMEASURED_HOST_RSS))

    def seed(self, chunk: List[str], result: ChunkResult, started: float) -> None:
        """Count a chunk evaluated before :meth:`run` (its process did more, e.g. list the hosts)."""
        self.report.processes += 1
        self.report.chunk_sizes.append(len(chunk))
        self._learn(chunk, result, started)

    def chunk_size(self, remaining: int, concurrency: int) -> int:
        """Hosts for the next process: what fits the budget's share, at most an even split of
        ``remaining`` (the hosts not started when this round of processes began) over the processes;
        a rest of :data:`MIN_HOSTS_PER_PROCESS` or fewer hosts is one process where it fits (start-up
        is paid once a process)."""
        if self._per_host is None:
            return min(remaining, self.first_chunk_size())
        fits = self.budget // concurrency // max(1, self._per_host)
        wanted = remaining if remaining <= self.min_hosts else -(-remaining // concurrency)
        return max(1, min(fits, wanted))

    def _learn(self, chunk: List[str], result: ChunkResult, started: float) -> None:
        rss = result.max_rss
        if not chunk:
            return
        self.report.peak_rss = max(self.report.peak_rss, rss)
        self.report.cpu += result.cpu
        self._per_host = max(self._per_host or 0, rss // len(chunk))
        self.report.per_host_rss = self._per_host
        if len(chunk) == 1 and rss > self.budget:
            self.report.over_budget[chunk[0]] = rss
        self._spans.append((started, time.monotonic(), rss))
        self.report.peak_concurrent_rss = overlapping_peak(self._spans)

    def run(self, hosts: Sequence[str]) -> Dict[str, Any]:
        """``{host: value}`` for every host whose chunk answered; the others are in ``report.failed``."""
        pending: Deque[str] = collections.deque(hosts)
        alone: Deque[str] = collections.deque()  # hosts of a failed chunk, evaluated one by one
        values: Dict[str, Any] = {}
        running: Dict[Future, Tuple[List[str], float]] = {}
        with ThreadPoolExecutor(max_workers=self.workers) as executor:
            while pending or alone or running:
                concurrency = self.concurrency()
                left = len(pending)  # shared out evenly among the processes started now
                while (pending or alone) and len(running) < concurrency:
                    if alone:
                        chunk = [alone.popleft()]
                    else:
                        size = self.chunk_size(left, concurrency)
                        chunk = [pending.popleft() for _taken in range(min(size, len(pending)))]
                    running[executor.submit(self._evaluate, chunk)] = (chunk, time.monotonic())
                    self.report.processes += 1
                    self.report.chunk_sizes.append(len(chunk))
                    if self._per_host is None:
                        break  # the first chunk is measured alone
                done = wait(list(running), return_when=FIRST_COMPLETED).done
                for future in done:
                    chunk, started = running.pop(future)
                    try:
                        result = future.result()
                    except NixTooOld:
                        raise  # every host would fail the same way
                    except NixError as exc:
                        if len(chunk) > 1:
                            alone.extend(chunk)
                        else:
                            self.report.failed[chunk[0]] = nix_error_text(exc.stderr) or str(exc)
                        continue
                    self._learn(chunk, result, started)
                    values.update(result.values)
        return values


def overlapping_peak(spans: Sequence[Span]) -> int:
    """The largest sum of the peaks of processes whose lifetimes overlap (an upper bound of what
    they held together at any moment)."""
    best = 0
    for start, _end, _rss in spans:  # the sum is largest at some process's start
        best = max(best, sum(rss for s, e, rss in spans if s <= start < e))
    return best
