# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.sops_config_check (documented in plugins/modules/sops_config_check.py)."""

from __future__ import annotations

import os

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets import sops_metadata as sm
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import NixosAction
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.controller_files import load_yaml


class ActionModule(NixosAction):
    ARGSPEC = {
        "config": {"type": "path", "required": True},
        "files": {"type": "list", "elements": "str", "required": True},
        "recipients": {"type": "list", "elements": "str", "required": True},
        "fail_on_drift": {"type": "bool", "default": True},
    }

    def execute(self, args, task_vars):
        host = task_vars.get("inventory_hostname", "")
        try:
            rules = sm.parse_config(load_yaml(args["config"], ".sops.yaml"))
        except sm.SopsError as exc:
            raise NixError("%s: %s" % (args["config"], exc))
        base = os.path.dirname(os.path.abspath(args["config"]))
        files = [os.path.relpath(os.path.join(base, f), base) for f in args["files"]]
        report = sm.coverage(rules, files, args["recipients"])
        problems = [c.problem for c in report if c.problem]
        result = {
            "changed": False,
            "drift": bool(problems),
            "problems": problems,
            "coverage": [dict(file=c.file, rule=c.rule, covered=c.covered) for c in report],
        }
        problem = (
            "%s (recipient %s): .sops.yaml drift: %s" % (host, ", ".join(args["recipients"]), "; ".join(problems))
            if problems
            else None
        )
        return self.verdict(
            result,
            problem,
            args["fail_on_drift"],
            "%s: every one of %d secrets files lists its recipient" % (host, len(files)),
        )
