# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Build (or, in check mode, only evaluate) the systems of many hosts at once.

The happy path evaluates every host's ``drvPath``/``outPath`` (``tryEval`` guarded) in a pool of
``nix eval`` processes whose chunks of hosts are sized by a memory budget (:mod:`evaluation_pool`:
a first chunk alone, measured, then as many hosts a process as fit, one process per core), then
one ``nix path-info`` (which systems exist, their closure sizes) and, for the systems not built yet,
one ``nix build --keep-going`` of their store derivations and one ``nix path-info``: nothing is
evaluated twice, a host that does not evaluate cannot stop the others' build, and each built path is
its host's by its derivation (``nix build`` sorts its results; it does not keep the installables' order). A host that
does not evaluate gets Nix's own message (one ``nix eval`` of it alone); when the build fails, the
second ``nix path-info`` says which systems were not built, and each gets the error blocks that name
its derivation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError, nix_error_text
from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes.flake_inventory import flake_view, nix_string
from ansible_collections.nixfleet.nixos.plugins.module_utils._progress.phase_timings import PhaseTimes, TimedPhase
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build import evaluation_cache
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.evaluation_pool import (
    DEFAULT_BUDGET_MIB,
    MIB,
    ChunkResult,
    EvaluationPool,
    PoolReport,
)
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._progress.live_progress import run_pool
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._progress.progress import OFF, Progress


@dataclass(frozen=True)
class SystemTarget:
    """What to build for one host: ``<flake>#<attr>``."""

    host: str
    flake: str
    attr: str

    @property
    def installable(self) -> str:
        return "%s#%s" % (self.flake, self.attr)


@dataclass
class BuildReport:
    paths: Dict[str, str] = field(default_factory=dict)
    drv_paths: Dict[str, str] = field(default_factory=dict)
    failed: Dict[str, str] = field(default_factory=dict)
    nix_calls: List[str] = field(default_factory=list)
    closure_sizes: Dict[str, int] = field(default_factory=dict)
    cached: List[str] = field(default_factory=list)
    evaluation: List[PoolReport] = field(default_factory=list)  # one per pool run
    warnings: List[str] = field(default_factory=list)
    timings: PhaseTimes = field(default_factory=PhaseTimes)  # evaluation and build, all hosts at once

    def to_result(self) -> dict:
        return {
            "paths": self.paths,
            "drv_paths": self.drv_paths,
            "failed_hosts": self.failed,
            "nix_calls": self.nix_calls,
            "closure_sizes": self.closure_sizes,
            "evaluations_cached": sorted(self.cached),
            "evaluation": evaluation_summary(self.evaluation),
            "timings": self.timings.to_result(),
        }


def evaluation_summary(runs: Sequence[PoolReport]) -> Dict[str, Any]:
    """The build's evaluation in numbers (the result's ``evaluation``): processes, chunk sizes, memory."""
    summary: Dict[str, Any] = PoolReport().to_result()
    for run in runs:
        one = run.to_result()
        summary["processes"] += one["processes"]
        summary["chunk_sizes"] += one["chunk_sizes"]
        summary["over_budget_mib"].update(one["over_budget_mib"])
        summary["cpu_seconds"] = round(summary["cpu_seconds"] + one["cpu_seconds"], 2)
        for key in ("peak_rss_mib", "peak_concurrent_rss_mib", "per_host_rss_mib"):
            summary[key] = max(summary[key], one[key])
    return summary


def _eval_expression(targets: List[SystemTarget]) -> str:
    flakes = sorted({t.flake for t in targets})
    bindings = " ".join("f%d = %s;" % (i, flake_view(ref)) for i, ref in enumerate(flakes))
    entries = " ".join("%s = t f%d.%s;" % (nix_string(t.host), flakes.index(t.flake), t.attr) for t in targets)
    return (
        "let %s t = s: let r = builtins.tryEval (builtins.deepSeq [ s.drvPath s.outPath ] "
        "{ drvPath = s.drvPath; path = s.outPath; }); in if r.success then r.value else null; in { %s }"
        % (bindings, entries)
    )


class SystemBuilder:
    """``eval_workers``: how many ``nix eval`` processes may evaluate hosts at once;
    ``eval_memory_budget``: how many bytes they may hold together (:mod:`evaluation_pool` sizes their
    chunks of hosts by it). ``eval_cache``: take the evaluations of an unchanged flake from
    :mod:`evaluation_cache` and remember new ones (in ``shared_cache``, an Ansible cache plugin's
    store, when given)."""

    def __init__(
        self,
        cli: NixCli,
        eval_workers: int = 1,
        eval_cache: bool = False,
        eval_memory_budget: int = DEFAULT_BUDGET_MIB * MIB,
        shared_cache: Optional[evaluation_cache.AnsibleCacheStore] = None,
        progress: Progress = OFF,
    ) -> None:
        self.cli = cli
        self.progress = progress  # "evaluating 12/50 hosts" while the pool runs
        self.eval_workers = max(1, eval_workers)
        self.eval_cache = eval_cache
        self.shared_cache = shared_cache
        self.eval_memory_budget = eval_memory_budget
        self.report = BuildReport()
        self._evaluated: Dict[str, Optional[Dict[str, str]]] = {}  # this build's evaluations, by host

    def _eval_one(self, target: SystemTarget) -> Dict[str, str]:
        """One host alone, unguarded: its value, or Nix's own message (NixError)."""
        self.report.nix_calls.append("eval %s" % target.host)
        return self.cli.eval_expr_json(
            "let s = %s.%s; in { drvPath = s.drvPath; path = s.outPath; }" % (flake_view(target.flake), target.attr),
            "nix eval %s" % target.installable,
        )

    def evaluate(self, targets: List[SystemTarget], cached: bool = True) -> Dict[str, Optional[Dict[str, str]]]:
        """``{host: {"drvPath", "path"} or None}``; hosts that fail get Nix's message in ``failed``.
        With the cache on (and ``cached``), hosts of an unchanged flake are answered from it; a host
        this builder evaluated already is not evaluated again (evaluate every host in one call first:
        one pool, its chunks sized across all of them)."""
        if cached and all(t.host in self._evaluated for t in targets):
            return {t.host: self._evaluated[t.host] for t in targets}
        keys = self._cache_keys(targets) if self.eval_cache else {}
        remembered = self._remembered(targets, keys) if cached else {}
        if cached:
            self.report.cached = sorted(set(self.report.cached) | set(remembered))  # a build may evaluate twice
        with self.report.timings.measure(TimedPhase.EVALUATION):
            results = self._evaluate([t for t in targets if t.host not in remembered])
        for flake, key in keys.items():
            fresh: Dict[str, Dict[str, str]] = {}
            for target in targets:
                info = results.get(target.host)
                if target.flake == flake and info:
                    fresh[target.attr] = info
            if key and fresh:
                evaluation_cache.store(key, fresh, self.shared_cache)
        results.update(remembered)
        self._evaluated.update(results)
        return results

    def _cache_keys(self, targets: List[SystemTarget]) -> Dict[str, Optional[str]]:
        return {
            flake: evaluation_cache.entry_key(flake, self.cli.settings, self.cli.env)
            for flake in sorted({t.flake for t in targets})
        }

    def _remembered(self, targets: List[SystemTarget], keys: Dict[str, Optional[str]]) -> Dict[str, Dict[str, str]]:
        entries = {flake: evaluation_cache.load(key, self.shared_cache) for flake, key in keys.items() if key}
        return {t.host: entries[t.flake][t.attr] for t in targets if t.attr in entries.get(t.flake, {})}

    def _evaluate(self, targets: List[SystemTarget]) -> Dict[str, Optional[Dict[str, str]]]:
        results: Dict[str, Optional[Dict[str, str]]] = {}
        if not self.cli.settings.changes_inputs and targets:
            by_host = {t.host: t for t in targets}
            pool = EvaluationPool(
                lambda hosts: self._eval_chunk([by_host[h] for h in hosts]),
                self.eval_memory_budget,
                self.eval_workers,
                kind=lambda h: target_kind(by_host[h]),
            )
            results.update(run_pool(self.progress, pool, [t.host for t in targets]))
            self.report.nix_calls += ["eval"] * pool.report.processes
            self.report.evaluation.append(pool.report)
            for host, error in pool.report.failed.items():
                self.report.failed[host] = "%s does not evaluate: %s" % (by_host[host].installable, error)
            self.report.warnings += [
                over_budget_warning(host, rss, pool.budget) for host, rss in pool.report.over_budget.items()
            ]
        for target in targets:
            if results.get(target.host) is None and target.host not in self.report.failed:
                try:
                    results[target.host] = self._eval_one(target)
                except NixError as exc:
                    results[target.host] = None
                    self.report.failed[target.host] = "%s does not evaluate: %s" % (
                        target.installable,
                        nix_error_text(exc.stderr) or exc,
                    )
        return results

    def _eval_chunk(self, chunk: List[SystemTarget]) -> ChunkResult:
        """One ``nix eval`` of the chunk's systems (NixError when it fails as a whole)."""
        value, result = self.cli.eval_expr_measured(_eval_expression(chunk), "nix eval of the systems")
        return ChunkResult(value, result.max_rss, result.cpu)

    def check(self, targets: List[SystemTarget]) -> BuildReport:
        """Check mode: evaluate every system, build nothing."""
        for host, info in self.evaluate(targets).items():
            if info:
                self.report.paths[host] = info["path"]
                self.report.drv_paths[host] = info["drvPath"]
        return self.report

    def build(self, targets: List[SystemTarget]) -> BuildReport:
        """Evaluate every system (one ``nix eval``), ask the controller's store which are there and how
        big their closures are (one ``nix path-info``), and build the others (one ``nix build
        --keep-going`` of their store derivations, nothing evaluated twice, then one ``nix path-info``
        of them); each result is its host's by its derivation (``nix build`` sorts its results). A
        redeploy with nothing new runs ``nix`` twice, or once when the evaluations are remembered."""
        if not targets:
            return self.report
        evaluated = {h: i for h, i in self.evaluate(targets).items() if i}
        wanted = [t for t in targets if t.host in evaluated]
        if not wanted:
            return self.report
        infos = self._path_info(sorted({evaluated[t.host]["path"] for t in wanted}))
        missing = [t for t in wanted if infos.get(evaluated[t.host]["path"]) is None]
        # A remembered evaluation whose system must be built: its derivation may be gone; evaluate it.
        stale = [t for t in missing if t.host in self.report.cached]
        if stale:
            again = self.evaluate(stale, cached=False)
            for target in stale:
                info = again.get(target.host)
                if info:
                    evaluated[target.host] = info
                else:
                    del evaluated[target.host]
            self.report.cached = [h for h in self.report.cached if h not in again]
            missing = [t for t in missing if t.host in evaluated]
            wanted = [t for t in wanted if t.host in evaluated]
        stderr = ""
        if missing:
            drvs = sorted({evaluated[t.host]["drvPath"] for t in missing})
            self.report.nix_calls.append("build")
            try:
                with self.report.timings.measure(TimedPhase.BUILD):
                    self.cli.build_derivations(drvs)
            except NixError as exc:
                stderr = exc.stderr
            infos.update(self._path_info(sorted({evaluated[t.host]["path"] for t in missing})))
        all_drvs = sorted({evaluated[t.host]["drvPath"] for t in wanted})
        for target in wanted:
            info = evaluated[target.host]
            self.report.drv_paths[target.host] = info["drvPath"]
            found = infos.get(info["path"])
            if found is None:
                self.report.failed[target.host] = "%s failed to build: %s" % (
                    target.installable,
                    build_error_for(stderr, info["drvPath"], all_drvs) or "nix build gave nothing",
                )
                continue
            self.report.paths[target.host] = info["path"]
            if isinstance(found.get("closureSize"), int):
                self.report.closure_sizes[target.host] = found["closureSize"]
        return self.report

    def _path_info(self, paths: List[str]) -> Dict[str, Optional[Dict]]:
        """Which systems are in the controller's store, with their closure sizes (for the deploy report:
        the controller's store answers, not ``nix-store`` on every target)."""
        self.report.nix_calls.append("path-info")
        return self.cli.path_info(paths, closure_size=True)


SYSTEM_ATTRS = (".config.system.build.toplevel", ".profiles.system.path")


def target_kind(target: SystemTarget) -> str:
    """``system`` (a NixOS toplevel: hundreds of MB to evaluate) or ``profile`` (another deploy-rs
    profile, usually a package: little): the evaluation pool sizes their chunks apart."""
    return "system" if target.attr.endswith(SYSTEM_ATTRS) else "profile"


def over_budget_warning(host: str, rss: int, budget: int) -> str:
    return (
        "%s alone needed %d MiB to evaluate, more than the evaluation memory budget (%d MiB): it was "
        "evaluated alone; raise eval_memory_budget (nixos_deploy_eval_memory_budget) if the controller "
        "has the memory" % (host, rss // MIB, budget // MIB)
    )


DEPENDENCY_FAILED = ("dependency failed", "dependencies failed", "dependencies couldn't be built")


def build_error_for(stderr: str, drv_path: str, target_drvs: Sequence[str] = ()) -> str:
    """The ``error:`` blocks of a ``nix build`` that concern ``drv_path`` (else all of them).

    When that block only says a dependency failed (Nix 2.34: "Cannot build '…'. Reason: 1
    dependency failed."), the blocks that name no target's derivation, where the cause is (a
    failed dependency, ``--max-jobs 0``), come with it.
    """
    text = nix_error_text(stderr)
    blocks: List[List[str]] = []
    for line in text.splitlines():
        if line.lstrip().startswith("error:") or not blocks:
            blocks.append([line])
        else:
            blocks[-1].append(line)
    texts = ["\n".join(b) for b in blocks]
    mine = [b for b in texts if drv_path in b]
    if mine and any(word in b for b in mine for word in DEPENDENCY_FAILED):
        mine += [b for b in texts if b not in mine and not any(d in b for d in target_drvs)]
    return "\n".join(mine) if mine else text
