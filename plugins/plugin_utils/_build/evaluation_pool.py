# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Evaluate many hosts with a pool of ``nix eval`` processes, in chunks sized by a memory budget.

A real NixOS host costs seconds of CPU and hundreds of MB to evaluate, and one ``nix eval`` frees
nothing while the flake's outputs hold every configuration it evaluated: its memory grows with each
host (1 / 4 / 10 real hosts: 0.8 / 2.7 / 6.6 GB). The pool keeps the processes running at once
within ``budget`` bytes together:

* hosts of different kinds (NixOS systems, small deploy-rs profiles) are chunked and costed apart;
* a kind's first chunk runs alone, with as many hosts as the budget holds at
  :data:`UNMEASURED_HOST_RSS` a host (a real host with a specialisation alone: 1.36 GB), at most
  :data:`MIN_HOSTS_PER_PROCESS`, so a small fleet is one process;
* what a host costs is the most any process of its kind needed per host so far (its peak, ``wait4``'s
  ``ru_maxrss``, over its hosts: start-up included, so it errs on the safe side for larger chunks);
* a process starts when what the running ones and it are expected to hold fits the budget (at most
  ``workers`` at once), each with as many hosts as fit a ``workers``-th of the budget, and no more
  than an even split of what is left (a rest of :data:`MIN_HOSTS_PER_PROCESS` hosts or fewer in one
  process where it fits: start-up is paid once a process);
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
from typing import Any, Callable, Deque, Dict, List, Sequence, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError, NixTooOld, nix_error_text

MIB = 2**20
# What the evaluation may use at once by default: fits an AWX execution pod of 4 GiB with room for
# ansible-playbook and its forks. docs/inventory.md ("Evaluation memory") says how to choose it.
DEFAULT_BUDGET_MIB = 3072
# With fewer hosts than this per process, start-up (fetching and parsing the flake) outweighs what
# evaluating in parallel gains; chunks are smaller only when memory says so.
MIN_HOSTS_PER_PROCESS = 4
# What a host is taken to cost before one of its kind was measured: a real NixOS host with a
# specialisation (a second system) alone peaks at about 1.36 GB, a plain one at 0.8 GB.
UNMEASURED_HOST_RSS = 1400 * MIB


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
        return {
            "processes": self.processes,
            "chunk_sizes": self.chunk_sizes,
            "peak_rss_mib": round(self.peak_rss / MIB, 1),
            "peak_concurrent_rss_mib": round(self.peak_concurrent_rss / MIB, 1),
            "per_host_rss_mib": round(self.per_host_rss / MIB, 1),
            "cpu_seconds": round(self.cpu, 2),
            "over_budget_mib": {host: round(rss / MIB, 1) for host, rss in self.over_budget.items()},
        }


class EvaluationPool:
    """Runs ``evaluate`` over chunks of hosts: at most ``workers`` at once, within ``budget`` bytes.
    ``kind``: hosts of different kinds (a NixOS system, a small deploy-rs profile) cost differently;
    each kind's cost is learnt on its own, and a chunk holds hosts of one kind."""

    def __init__(
        self,
        evaluate: Evaluate,
        budget: int,
        workers: int,
        min_hosts: int = MIN_HOSTS_PER_PROCESS,
        kind: Callable[[str], str] = lambda _host: "",
        on_progress: Callable[[int, int], None] = lambda _done, _total: None,
    ) -> None:
        if budget <= 0 or workers <= 0:
            raise ValueError("the evaluation needs a positive memory budget and at least one worker")
        self._evaluate = evaluate
        self.budget = budget
        self.workers = workers
        self.min_hosts = max(1, min_hosts)
        self._kind = kind
        self.on_progress = on_progress  # (hosts evaluated or failed, hosts), after each process
        self.report = PoolReport()
        self._per_host: Dict[str, int] = {}  # kind -> the most a process of that kind needed per host
        self._spans: List[Span] = []

    def per_host(self, kind: str) -> int:
        """What a host of ``kind`` is taken to cost (before one was measured: :data:`UNMEASURED_HOST_RSS`)."""
        return self._per_host.get(kind, UNMEASURED_HOST_RSS)

    def first_chunk_size(self) -> int:
        """Hosts of a kind's first process: what the budget holds at :data:`UNMEASURED_HOST_RSS` a
        host, at most :data:`MIN_HOSTS_PER_PROCESS` (so a small fleet is one process)."""
        return max(1, min(self.min_hosts, self.budget // UNMEASURED_HOST_RSS))

    def seed(self, chunk: List[str], result: ChunkResult, started: float) -> None:
        """Count a chunk evaluated before :meth:`run` (its process did more, e.g. list the hosts)."""
        self.report.processes += 1
        self.report.chunk_sizes.append(len(chunk))
        self._learn(chunk, result, started)

    def chunk_size(self, kind: str, remaining: int) -> int:
        """Hosts for the next process of ``kind``: what fits the budget's share of one of ``workers``
        processes, at most an even split of ``remaining`` (the hosts of that kind not started when
        this round of processes began) over them; a rest of :data:`MIN_HOSTS_PER_PROCESS` or fewer
        hosts is one process where it fits (start-up is paid once a process)."""
        if kind not in self._per_host:
            return min(remaining, self.first_chunk_size())
        fits = self.budget // self.workers // max(1, self._per_host[kind])
        wanted = remaining if remaining <= self.min_hosts else -(-remaining // self.workers)
        return max(1, min(fits, wanted))

    def _learn(self, chunk: List[str], result: ChunkResult, started: float) -> None:
        rss = result.max_rss
        if not chunk:
            return
        kind = self._kind(chunk[0])
        self.report.peak_rss = max(self.report.peak_rss, rss)
        self.report.cpu += result.cpu
        self._per_host[kind] = max(self._per_host.get(kind, 0), rss // len(chunk))
        self.report.per_host_rss = max(self._per_host.values())
        if len(chunk) == 1 and rss > self.budget:
            self.report.over_budget[chunk[0]] = rss
        self._spans.append((started, time.monotonic(), rss))
        self.report.peak_concurrent_rss = overlapping_peak(self._spans)

    def run(self, hosts: Sequence[str]) -> Dict[str, Any]:
        """``{host: value}`` for every host whose chunk answered; the others are in ``report.failed``.
        A process starts when what the running ones and it are expected to hold fits the budget (or
        when none runs: a host that alone needs more is evaluated alone); a kind's first process runs
        alone until it was measured."""
        pending: Dict[str, Deque[str]] = {}
        for host in hosts:
            pending.setdefault(self._kind(host), collections.deque()).append(host)
        alone: Deque[str] = collections.deque()  # hosts of a failed chunk, evaluated one by one
        values: Dict[str, Any] = {}
        running: Dict[Future, Tuple[List[str], float]] = {}
        with ThreadPoolExecutor(max_workers=self.workers) as executor:
            while any(pending.values()) or alone or running:
                rounds = {k: len(v) for k, v in pending.items()}  # shared out among the processes started now
                while (any(pending.values()) or alone) and len(running) < self.workers:
                    source = alone if alone else next(queue for queue in pending.values() if queue)
                    kind = self._kind(source[0])
                    size = 1 if source is alone else self.chunk_size(kind, rounds.get(kind, len(source)))
                    measured = kind in self._per_host
                    held = sum(len(c) * self.per_host(self._kind(c[0])) for c, _started in running.values())
                    if running and (not measured or held + size * self.per_host(kind) > self.budget):
                        break  # it waits for room
                    chunk = [source.popleft() for _taken in range(min(size, len(source)))]
                    running[executor.submit(self._evaluate, chunk)] = (chunk, time.monotonic())
                    self.report.processes += 1
                    self.report.chunk_sizes.append(len(chunk))
                    if not measured:
                        break  # a kind's first process is measured alone
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
                self.on_progress(len(set(values) | set(self.report.failed)), len(hosts))
        return values


def overlapping_peak(spans: Sequence[Span]) -> int:
    """The largest sum of the peaks of processes whose lifetimes overlap (an upper bound of what
    they held together at any moment)."""
    best = 0
    for start, _end, _rss in spans:  # the sum is largest at some process's start
        best = max(best, sum(rss for s, e, rss in spans if s <= start < e))
    return best
