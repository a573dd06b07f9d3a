# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.deploy_report (documented in plugins/modules/deploy_report.py)."""

from __future__ import annotations

import json
import os
from typing import List

from ansible_collections.nixfleet.nixos.plugins.module_utils._reports import deploy_report as dr
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import NixosAction
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli


class ActionModule(NixosAction):
    """Runs once, on the controller; reads the deploy role's results from hostvars."""

    ARGSPEC = {
        "hosts": {"type": "list", "elements": "str", "required": True},
        "output_dir": {"type": "path"},
    }

    def _previous_sizes(self, hosts_data):
        """Closure sizes of the systems the hosts ran before, from the controller's store (one
        ``nix path-info``; a system this controller never had stays unknown)."""
        switches = [d.get("nixos_deploy_switch") or {} for d in hosts_data]
        # An unchanged host's previous system is its new one, whose size the build measured.
        paths = sorted(
            {
                str(s["previous_path"])
                for s in switches
                if s.get("previous_path") and s.get("previous_path") != s.get("path")
            }
        )
        if not paths:
            return {}
        try:
            infos = NixCli().path_info(paths, closure_size=True)
        except NixError:
            return {}
        return {p: (i or {}).get("closureSize") for p, i in infos.items()}

    def execute(self, args, task_vars):
        hostvars = task_vars.get("hostvars", {})
        # Hosts the deploy never touched (outside --limit) have none of its variables: left out.
        touched = [h for h in args["hosts"] if any(k in hostvars.get(h, {}) for k in dr.DEPLOY_VARIABLES)]
        data = {
            host: {name: hostvars[host][name] for name in dr.REPORT_VARIABLES if name in hostvars[host]}
            for host in touched
        }
        sizes = self._previous_sizes(data.values())
        rows = [dr.host_report(host, data[host], sizes) for host in touched]
        text = dr.text(rows)
        files: List[str] = []
        result = {
            "changed": False,
            "report": dr.as_json(rows),
            "table": text.splitlines(),
            "msg": "\n" + text,
            "files": files,
        }
        if args["output_dir"] and not self._task.check_mode:
            try:
                os.makedirs(args["output_dir"], exist_ok=True)
                for name, content in (
                    ("deploy-report.json", json.dumps(dr.as_json(rows), indent=2) + "\n"),
                    ("deploy-report.md", dr.markdown(rows)),
                    ("deploy-report.txt", text),
                ):
                    path = os.path.join(args["output_dir"], name)
                    with open(path, "w", encoding="utf-8") as handle:
                        handle.write(content)
                    files.append(path)
            except OSError as exc:
                raise NixError("writing the deploy report to %s failed: %s" % (args["output_dir"], exc.strerror))
        return result
