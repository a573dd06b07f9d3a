# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.exposure_report (documented in plugins/modules/exposure_report.py)."""

from __future__ import annotations

import json

from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain import exposure_report as er
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import NixosAction
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.controller_files import write_files

NAME = "exposure-report"


class ActionModule(NixosAction):
    """Runs once, on the controller; reads each host's registered exposure result from hostvars."""

    _requires_connection = False
    ARGSPEC = {
        "hosts": {"type": "list", "elements": "str", "required": True},
        "result_var": {"type": "str", "default": "nixos_exposure"},
        "output_dir": {"type": "path"},
    }

    def execute(self, args, task_vars):
        hostvars = task_vars.get("hostvars", {})
        results = [self._result(host, (hostvars.get(host) or {}).get(args["result_var"])) for host in args["hosts"]]
        text = er.table(results)
        result = {
            "changed": False,
            "report": results,
            "table": text.splitlines(),
            "msg": "\n" + text,
            "files": [],
            "exposed_hosts": sorted(r["host"] for r in results if r.get("exposed")),
            "failed_hosts": sorted(r["host"] for r in results if r.get("error")),
        }
        if args["output_dir"] and not self._task.check_mode:
            result["files"] = write_files(
                args["output_dir"],
                {
                    NAME + ".json": json.dumps(results, indent=2, sort_keys=True) + "\n",
                    NAME + ".md": er.markdown(results),
                    NAME + ".txt": text,
                },
                "the exposure report",
            )
        return result

    @staticmethod
    def _result(host, registered):
        """The host's exposure result, or an entry that says why there is none."""
        if not isinstance(registered, dict) or registered.get("skipped"):
            return {"host": host, "error": "not scanned (unreachable, or left out)", "systems": []}
        if registered.get("failed") or registered.get("unreachable"):
            return {"host": host, "error": str(registered.get("msg") or "the scan failed"), "systems": []}
        keep = (
            "host",
            "package",
            "constraint",
            "source",
            "exposed",
            "running_exposed",
            "booted_exposed",
            "exposed_generations",
            "systems",
        )
        return dict({k: registered.get(k) for k in keep}, host=host, error="")
