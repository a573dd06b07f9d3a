# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.copy_closure (documented in plugins/modules/copy_closure.py)."""

from __future__ import annotations

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.store_path import store_path_option
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._transfer import closure_transfer
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import (
    NIX_ARGSPEC,
    TRANSFER_ARGSPEC,
    NixosAction,
)


class ActionModule(NixosAction):
    ARGSPEC = dict(
        NIX_ARGSPEC,
        path={"type": "str", "required": True},
        drv_path={"type": "str"},
        build_on_target={"type": "bool", "default": False},
        **TRANSFER_ARGSPEC,
    )

    def execute(self, args, task_vars):
        path = store_path_option(args["path"], "path")
        transfer = self.transfer(args)
        build_from = closure_transfer.build_source(args["build_on_target"], args["drv_path"])
        needed = closure_transfer.ensure(
            self.shell(task_vars),
            path,
            transfer,
            self.nix_cli(args),
            lambda: self.ssh_target(task_vars),
            check_mode=self._task.check_mode,
            build_from=build_from,
        )
        return {
            "path": path,
            "mode": transfer.mode,
            "changed": needed,
            "copied": needed and not self._task.check_mode,
            "built_on_target": needed and build_from is not None and not self._task.check_mode,
        }
