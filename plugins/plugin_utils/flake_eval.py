# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a flake's hosts with as few ``nix`` processes as possible.

Normally exactly one: ``nix eval --impure --expr`` over ``builtins.getFlake REF``, which also
returns the fetched source (to lock the ref). Flags that change the flake's inputs
(``--override-input`` …) only apply to installables, so with those the outputs are read through
``REF#nixosConfigurations``, ``REF#deploy`` and ``REF#colmenaHive`` (three processes, ref not locked). Extra processes
run only when something is broken: one per host whose configuration throws (to show Nix's own
message), or, when an error escapes ``tryEval`` and fails the whole evaluation, one per host.
"""

from __future__ import annotations

import fnmatch
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Sequence

from ansible_collections.nixfleet.nixos.plugins.module_utils import flake_inventory as fi
from ansible_collections.nixfleet.nixos.plugins.module_utils.errors import NixError, nix_error_text
from ansible_collections.nixfleet.nixos.plugins.module_utils.flake_ref import locked_ref
from ansible_collections.nixfleet.nixos.plugins.plugin_utils.nix_cli import NixCli


@dataclass
class FlakeInventory:
    ref: str
    locked_ref: str
    hosts: List[fi.FlakeHost]
    warnings: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        return {"ref": self.ref, "locked_ref": self.locked_ref, "warnings": self.warnings,
                "hosts": [asdict(h) for h in self.hosts]}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "FlakeInventory":
        return cls(data["ref"], data["locked_ref"], [fi.FlakeHost(**h) for h in data["hosts"]],
                   list(data.get("warnings") or []))


def _getflake(ref: str) -> str:
    return "(builtins.getFlake %s)" % fi.nix_string(ref)


def _eval_metadata(cli: NixCli, ref: str, host_filter: Sequence[str]) -> Dict[str, Any]:
    if not cli.settings.changes_inputs:
        return cli.eval_expr_json(fi.getflake_expression(ref, host_filter), "nix eval of %s" % ref)
    function = fi.metadata_function(host_filter)
    configurations = cli.eval_json("%s#nixosConfigurations" % ref,
                                   apply="c: (%s { nixosConfigurations = c; }).configurations" % function)
    optional = {}
    for output, kind in (("deploy", "nodes"), ("colmenaHive", "hive")):
        try:
            optional[kind] = cli.eval_json("%s#%s" % (ref, output), apply="o: (%s { %s = o; }).%s" % (function, output, kind))
        except NixError as exc:
            if "does not provide attribute" not in exc.stderr:
                raise
            optional[kind] = {}
    return {"configurations": configurations, "nodes": optional["nodes"], "hive": optional["hive"], "source": {}}


def _error_of(cli: NixCli, ref: str, host: fi.FlakeHost) -> str:
    """Nix's own message for why ``host``'s metadata does not evaluate."""
    value = "%s.%s" % (_getflake(ref), host.attr)
    forced = "builtins.seq %s.config true" % value if not host.attr.startswith("deploy.nodes.") \
        else "builtins.deepSeq [ (%s.hostname or null) (%s.sshUser or null) (%s.sshOpts or null) ] true" \
        % (value, value, value)
    try:
        cli.eval_expr_json(forced)
    except NixError as exc:
        return nix_error_text(exc.stderr) or str(exc)
    return "it failed to evaluate in the combined evaluation"


def _eval_one_by_one(cli: NixCli, ref: str, host_filter: Sequence[str], first: NixError) -> Dict[str, Any]:
    """The combined evaluation failed: find out whether the flake or some hosts are broken."""
    names_expr = ("let f = %s; in { configurations = builtins.attrNames (f.nixosConfigurations or {}); "
                  "hive = builtins.attrNames ((f.colmenaHive or {}).nodes or {}); "
                  "nodes = builtins.attrNames ((f.deploy or {}).nodes or {}); }" % _getflake(ref))
    try:
        names = cli.eval_expr_json(names_expr, "nix eval of %s" % ref)
    except NixError:
        raise first
    function = fi.metadata_function(host_filter)
    data: Dict[str, Any] = {"configurations": {}, "hive": {}, "nodes": {}, "source": {}, "errors": {}}
    for kind, output in (("configurations", fi.CONFIGURATIONS), ("hive", fi.HIVE_NODES), ("nodes", "deploy.nodes")):
        for name in names[kind]:
            if host_filter and not any(fnmatch.fnmatchcase(name, p) for p in host_filter):
                continue
            try:
                attr = fi.attr_path(output, name)
            except ValueError as exc:  # listed with its error by the inventory, never evaluated
                data[kind][name] = None if kind == "nodes" else {"error": True}
                data["errors"][name] = str(exc)
                continue
            single = "{ %s = f.%s; }" % (fi.nix_string(name), attr)
            outputs = {"configurations": "{ nixosConfigurations = %s; }",
                       "hive": "{ colmenaHive = { nodes = %s; }; }",
                       "nodes": "{ deploy = (f.deploy or { }) // { nodes = %s; }; }"}[kind] % single
            expr = "let f = %s; in (%s %s).%s" % (_getflake(ref), function, outputs, kind)
            try:
                data[kind].update(cli.eval_expr_json(expr, "nix eval of %s#%s" % (ref, attr)))
            except NixError as exc:
                data[kind][name] = None if kind == "nodes" else {"error": True}
                data["errors"][name] = nix_error_text(exc.stderr) or str(exc)
    return data


def read_flake(cli: NixCli, ref: str, host_filter: Sequence[str] = ()) -> FlakeInventory:
    """Every host the flake declares (filtered by ``host_filter`` globs)."""
    try:
        data = _eval_metadata(cli, ref, host_filter)
    except NixError as exc:
        if cli.settings.changes_inputs:
            raise
        data = _eval_one_by_one(cli, ref, host_filter, exc)
    hosts = fi.hosts_from_metadata(data)
    errors = data.get("errors") or {}
    warnings = []
    for host in hosts:
        if host.error:
            host.error = errors.get(host.name) or _error_of(cli, ref, host)
            warnings.append("nixfleet.nixos.flake: host %s is listed without metadata because %s does not "
                            "evaluate: %s" % (host.name, host.attr, host.error))
        warnings.extend("nixfleet.nixos.flake: %s" % w for w in host.settings_warnings)
        if host.settings_error:
            warnings.append("nixfleet.nixos.flake: %s (the deploy fails this host)" % host.settings_error)
    source = data.get("source") or {}
    return FlakeInventory(ref, locked_ref(ref, source) if source else ref, hosts, warnings)
