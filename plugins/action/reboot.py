# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.reboot (documented in plugins/modules/reboot.py)."""

from __future__ import annotations

import time

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import reboot as rb
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generations import probe
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.store_path import store_path_option
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import PROFILE_ARGSPEC, NixosAction


class ActionModule(NixosAction):
    ARGSPEC = dict(
        PROFILE_ARGSPEC,
        policy={"type": "str", "default": "if-needed", "choices": list(rb.POLICIES)},
        expected={"type": "str"},
        timeout={"type": "int", "default": 600},
    )

    def execute(self, args, task_vars):
        if args["expected"]:
            store_path_option(args["expected"], "expected")
        shell = self.shell(task_vars)
        fresh = self.fresh_shell(task_vars) or shell
        state = shell.perform(probe(args["profile"]))
        reboot, reason = rb.reboot_decision(args["policy"], state, args["expected"])
        result = {"changed": reboot, "rebooted": False, "reason": reason}
        if not reboot or self._task.check_mode:
            return result
        boot_id = shell.check(rb.BOOT_ID_COMMAND, "reading the boot id", privileged=False).stdout
        shell.check(rb.REBOOT_COMMAND, "asking for a reboot")
        deadline = time.monotonic() + args["timeout"]
        while time.monotonic() < deadline:
            time.sleep(5)
            answer = fresh.run(rb.BOOT_ID_COMMAND, privileged=False)
            if answer.rc == 0 and rb.came_back(boot_id, answer.stdout):
                break
        else:
            raise NixError(
                "did not come back with a new boot id within %ds of the reboot" % args["timeout"], host=shell.label
            )
        after = fresh.perform(probe(args["profile"]))
        problem = rb.booted_problem(after, args["expected"])
        if problem:
            raise NixError(problem, host=shell.label)
        result.update(rebooted=True, booted_system=after.booted_system)
        return result
