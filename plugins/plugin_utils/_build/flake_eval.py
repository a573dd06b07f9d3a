# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Read a flake's hosts: one ``nix eval`` for a small fleet, chunks sized by a memory budget for a large one.

``nix eval --impure --expr`` over ``builtins.getFlake REF`` lists the wanted hosts, returns the
fetched source (to lock the ref) and reads the metadata of the first few hosts, measured
(``wait4``); the other hosts follow in chunks of :mod:`evaluation_pool` (one process per core, as
many hosts a process as fit the memory budget): a real NixOS configuration costs hundreds of MB to
evaluate, and one process frees nothing. A chunk that fails as a whole is read again host by host, so
one broken host never hides the others; a host whose configuration throws inside ``tryEval`` gets
Nix's own message from one more process of its own. Flags that change the flake's inputs
(``--override-input`` …) only apply to installables, so with those the outputs are read through
``REF#nixosConfigurations``, ``REF#deploy`` and ``REF#colmenaHive`` (three processes, ref not locked).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes import flake_inventory as fi
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError, NixTooOld, nix_error_text
from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes.flake_ref import locked_ref
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._progress.live_progress import run_pool
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._progress.progress import OFF, Progress
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.evaluation_pool import (
    DEFAULT_BUDGET_MIB,
    MIB,
    ChunkResult,
    EvaluationPool,
    PoolReport,
)
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli


@dataclass
class FlakeInventory:
    ref: str
    locked_ref: str
    hosts: List[fi.FlakeHost]
    warnings: List[str] = field(default_factory=list)
    evaluation: Optional[PoolReport] = None  # how the hosts were read (not cached)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "ref": self.ref,
            "locked_ref": self.locked_ref,
            "warnings": self.warnings,
            "hosts": [asdict(h) for h in self.hosts],
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "FlakeInventory":
        return cls(
            data["ref"],
            data["locked_ref"],
            [fi.FlakeHost(**h) for h in data["hosts"]],
            list(data.get("warnings") or []),
        )


def _eval_installables(cli: NixCli, ref: str, host_filter: Sequence[str]) -> Dict[str, Any]:
    """With input-changing flags: the outputs through installables (three processes, not chunked)."""
    function = fi.metadata_function(host_filter)
    configurations = cli.eval_json(
        "%s#nixosConfigurations" % ref, apply="c: (%s { nixosConfigurations = c; }).configurations" % function
    )
    optional = {}
    for output, kind in (("deploy", "nodes"), ("colmenaHive", "hive")):
        try:
            optional[kind] = cli.eval_json(
                "%s#%s" % (ref, output), apply="o: (%s { %s = o; }).%s" % (function, output, kind)
            )
        except NixError as exc:
            if "does not provide attribute" not in exc.stderr:
                raise
            optional[kind] = {}
    return {"configurations": configurations, "nodes": optional["nodes"], "hive": optional["hive"], "source": {}}


def _by_host(answer: Dict[str, Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """``{kind: {host: metadata}}`` → ``{host: {kind: metadata}}`` (the pool's values are per host)."""
    hosts: Dict[str, Dict[str, Any]] = {}
    for kind in fi.KINDS:
        for name, info in (answer.get(kind) or {}).items():
            hosts.setdefault(name, {})[kind] = info
    return hosts


def _eval_in_chunks(
    cli: NixCli, ref: str, host_filter: Sequence[str], pool: EvaluationPool, progress: Progress = OFF
) -> Dict[str, Any]:
    """The listing with the first chunk (measured), then the other hosts through ``pool``."""
    first = pool.first_chunk_size()
    started = time.monotonic()
    measured: Optional[Any] = None
    try:
        listing, measured = cli.eval_expr_measured(
            fi.listing_expression(ref, host_filter, first), "nix eval of %s" % ref
        )
    except NixTooOld:
        raise
    except NixError as exc:  # the flake, or one of the first hosts, does not evaluate: the names alone
        try:
            listing = cli.eval_expr_json(fi.listing_expression(ref, host_filter, 0), "nix eval of %s" % ref)
        except NixError:
            raise exc
    names = sorted({name for kind in fi.KINDS for name in listing["names"][kind]})
    data: Dict[str, Any] = {kind: {} for kind in fi.KINDS}
    data.update(source=listing["source"], colmena=listing["colmena"], errors={})
    per_host = _by_host(listing["first"])
    if measured is not None:
        done = names[:first]
        pool.seed(done, ChunkResult(per_host, measured.max_rss, measured.cpu), started)
    else:
        done = []
    per_host.update(run_pool(progress, pool, names[len(done) :], len(done)))
    for name, kinds in per_host.items():
        for kind, info in kinds.items():
            data[kind][name] = info
    for name, error in pool.report.failed.items():
        for kind in fi.KINDS:
            if name in listing["names"][kind]:
                data[kind][name] = None if kind == "nodes" else {"error": True}
        data["errors"][name] = error
    return data


def _error_of(cli: NixCli, ref: str, host: fi.FlakeHost) -> str:
    """Nix's own message for why ``host``'s metadata does not evaluate."""
    value = "%s.%s" % (fi.flake_view(ref), host.attr)
    forced = (
        "builtins.seq %s.config true" % value
        if not host.attr.startswith("deploy.nodes.")
        else "builtins.deepSeq [ (%s.hostname or null) (%s.sshUser or null) (%s.sshOpts or null) ] true"
        % (value, value, value)
    )
    try:
        cli.eval_expr_json(forced)
    except NixError as exc:
        return nix_error_text(exc.stderr) or str(exc)
    return "it failed to evaluate in the combined evaluation"


def read_flake(
    cli: NixCli,
    ref: str,
    host_filter: Sequence[str] = (),
    workers: int = 1,
    budget: int = DEFAULT_BUDGET_MIB * MIB,
    progress: Progress = OFF,
) -> FlakeInventory:
    """Every host the flake declares (filtered by ``host_filter`` globs), read by at most ``workers``
    processes at once within ``budget`` bytes (``progress``: "evaluating 12/50 hosts" as they are)."""
    pool: Optional[EvaluationPool] = None
    if cli.settings.changes_inputs:
        data = _eval_installables(cli, ref, host_filter)
    else:
        pool = EvaluationPool(lambda names: _eval_chunk(cli, ref, names), budget, workers)
        data = _eval_in_chunks(cli, ref, host_filter, pool, progress)
    hosts = fi.hosts_from_metadata(data)
    errors = data.get("errors") or {}
    warnings = []
    if data.get("colmena") == fi.RAW_COLMENA_UNREAD:
        warnings.append("nixfleet.nixos.flake: %s" % fi.raw_colmena_warning(ref))
    for name, rss in pool.report.over_budget.items() if pool else ():
        warnings.append(
            "nixfleet.nixos.flake: host %s alone needed %d MiB to evaluate, more than the evaluation "
            "memory budget (%d MiB); raise the inventory's eval_memory_budget if the controller has the "
            "memory" % (name, rss // MIB, budget // MIB)
        )
    for host in hosts:
        if host.error:
            host.error = errors.get(host.name) or _error_of(cli, ref, host)
            warnings.append(
                "nixfleet.nixos.flake: host %s is listed without metadata because %s does not "
                "evaluate: %s" % (host.name, host.attr, host.error)
            )
        warnings.extend("nixfleet.nixos.flake: %s" % w for w in host.settings_warnings)
        if host.settings_error:
            warnings.append("nixfleet.nixos.flake: %s (the deploy fails this host)" % host.settings_error)
    source = data.get("source") or {}
    return FlakeInventory(
        ref, locked_ref(ref, source) if source else ref, hosts, warnings, pool.report if pool else None
    )


def _eval_chunk(cli: NixCli, ref: str, names: List[str]) -> ChunkResult:
    """One process reading the metadata of ``names`` (NixError when it fails as a whole)."""
    answer, result = cli.eval_expr_measured(fi.chunk_expression(ref, names), "nix eval of %s" % ref)
    return ChunkResult(_by_host(answer), result.max_rss, result.cpu)
