# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.package_gate (documented in plugins/modules/package_gate.py)."""

from __future__ import annotations

import datetime
import json

from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain import closure_graph, package_gate as pg
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._caches.nix_conf import validate_store_url
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.store_path import store_path_option
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import NIX_ARGSPEC, NixosAction
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.controller_files import read_text

CLOSURE, BUILD_INPUTS = "closure", "build inputs"


class ActionModule(NixosAction):
    """Runs once, on the controller, between the build and the first copy."""

    _requires_connection = False
    ARGSPEC = dict(
        NIX_ARGSPEC,
        paths={"type": "dict", "required": True},
        drv_paths={"type": "dict", "default": {}},
        deny_packages={"type": "raw", "default": []},
        allow_packages={"type": "list", "elements": "raw", "default": []},
        store={"type": "str"},
    )

    def execute(self, args, task_vars):
        rules = self._policy(args["deny_packages"], args["allow_packages"])
        paths = {str(h): store_path_option(str(p), "paths[%s]" % h) for h, p in args["paths"].items()}
        for host, drv in args["drv_paths"].items():
            store_path_option(str(drv), "drv_paths[%s]" % host)
        if args["store"]:
            validate_store_url(args["store"], "store")
        graph, roots, failed = self._graphs(args, paths)
        today = datetime.datetime.now(datetime.timezone.utc).date()
        result = {"changed": False, "failed_hosts": failed, "refused": {}, "allowed": {}, "checked": {}, "warnings": []}
        for host in sorted(roots):
            root, kind = roots[host]
            verdict = pg.check(host, graph, root, rules, today)
            result["checked"][host] = kind
            where = (
                " (in its build inputs: the controller's store has no %s)" % paths[host] if kind == BUILD_INPUTS else ""
            )
            if verdict.refused:
                result["refused"][host] = [f.to_dict() for f in verdict.refused]
                failed[host] = "%s: refused before anything was copied%s: %s%s" % (
                    host,
                    where,
                    "; ".join(f.describe() for f in verdict.refused),
                    "".join("; the exception for %s expired" % a.describe() for a in verdict.expired),
                )
            if verdict.allowed:
                result["allowed"][host] = [f.to_dict() for f in verdict.allowed]
                result["warnings"] += ["%s: %s" % (host, f.describe()) for f in verdict.allowed]
        if not result["warnings"]:
            del result["warnings"]
        result["msg"] = "%d of %d systems pass the gate (%d rules, %d exceptions)%s" % (
            len(paths) - len(failed),
            len(paths),
            len(rules.deny),
            len(rules.allow),
            "; refused: " + ", ".join(sorted(failed)) if failed else "",
        )
        return result

    @staticmethod
    def _policy(deny, allow):
        if isinstance(deny, str):  # a file on the controller
            text = read_text(deny, "deny_packages")
            try:
                document = json.loads(text)
            except ValueError as exc:
                raise NixError("deny_packages %s is not JSON: %s" % (deny, exc))
            return pg.policy([], allow, document, "deny_packages %s" % deny)
        return pg.policy(deny if deny is not None else [], allow)

    def _graphs(self, args, paths):
        """One reference graph of every system (from the controller's store, or ``store``), and each
        host's root in it; a system the store lacks is checked by its derivation's build graph."""
        cli = self.nix_cli(args)
        store = args["store"]
        wanted = sorted(set(paths.values()))
        valid = [p for p, info in cli.path_info(wanted, store=store).items() if info is not None] if wanted else []
        graph = (
            closure_graph.from_path_info(cli.path_info(valid, store=store, recursive=True))
            if valid
            else closure_graph.ClosureGraph()
        )
        roots, failed, derivations = {}, {}, {}
        for host, path in paths.items():
            if path in valid:
                roots[host] = (path, CLOSURE)
            elif args["drv_paths"].get(host):
                derivations[host] = str(args["drv_paths"][host])
            else:
                failed[host] = (
                    "%s: the gate cannot read %s (not in %s, and no derivation): refused, nothing was copied"
                    % (host, path, store or "the controller's store")
                )
        if derivations:
            built = closure_graph.parse_dot(cli.graph(sorted(set(derivations.values()))))
            for drv, refs in built.references.items():
                graph.add(drv, refs)
            roots.update({host: (drv, BUILD_INPUTS) for host, drv in derivations.items()})
        return graph, roots, failed
