# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.rollback (documented in plugins/modules/rollback.py)."""

from __future__ import annotations

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generation_commands import CHANGING
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import (
    PROFILE_ARGSPEC,
    SAFETY_ARGSPEC,
    NixosAction,
)


class ActionModule(NixosAction):
    ARGSPEC = dict(
        PROFILE_ARGSPEC,
        **SAFETY_ARGSPEC,
        generation={"type": "int"},
        action={"type": "str", "default": "switch", "choices": list(CHANGING)},
    )

    def execute(self, args, task_vars):
        activator = self.activator(args, task_vars)
        outcome = activator.rollback(args["generation"], args["action"], check_mode=self._task.check_mode)
        result = outcome.to_result()
        if outcome.changed and not self._task.check_mode and activator.deployer is not None:
            result["deployed_by"] = activator.deployer.describe()
        if self._task.diff and outcome.changed:
            result["diff"] = {
                "before": "generation %s: %s\n" % (outcome.previous_generation, outcome.previous_path),
                "after": "generation %s: %s\n" % (outcome.generation, outcome.path),
            }
        return result
