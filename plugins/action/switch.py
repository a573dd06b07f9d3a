# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.switch (documented in plugins/modules/switch.py)."""

from __future__ import annotations

import os
import time

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import switch_inhibitors
from ansible_collections.nixfleet.nixos.plugins.module_utils._progress.progress_text import Phase
from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets.deployment_keys import UploadAt
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generation_commands import ACTIONS
from ansible_collections.nixfleet.nixos.plugins.module_utils._progress.phase_timings import PhaseTimes, TimedPhase
from ansible_collections.nixfleet.nixos.plugins.module_utils._reports.package_diff import (
    parse_diff_closures,
    without_colours,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.store_path import store_path_option
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import (
    NIX_ARGSPEC,
    PROFILE_ARGSPEC,
    SAFETY_ARGSPEC,
    TRANSFER_ARGSPEC,
    NixosAction,
)
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._transfer import closure_transfer
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._secrets import key_upload
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.activation_models import SwitchRequest
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.closure_diff import closure_diff


class ActionModule(NixosAction):
    FLEET_PHASE = Phase.ACTIVATING  # "activating 8/50 hosts"

    ARGSPEC = dict(
        NIX_ARGSPEC,
        **PROFILE_ARGSPEC,
        **SAFETY_ARGSPEC,
        **TRANSFER_ARGSPEC,
        copy={"type": "bool", "default": False},
        build_on_target={"type": "bool", "default": False},
        path={"type": "str", "required": True},
        action={"type": "str", "default": "switch", "choices": list(ACTIONS)},
        drv_path={"type": "str"},
        package_changes={"type": "bool", "default": True},
        on_inhibited={"type": "str", "default": "fail", "choices": list(switch_inhibitors.CHOICES)},
        specialisation={"type": "str"},
        install_bootloader={"type": "bool", "default": False},
        keys={"type": "dict", "no_log": True},
    )

    def execute(self, args, task_vars):
        path = store_path_option(args["path"], "path")
        activator = self.activator(args, task_vars)
        activator.on_confirming = lambda: self.count(task_vars, confirming=True)  # "waiting for 3 confirmations"
        shell = activator.shell
        # Every key's content is made before anything changes (a missing keyFile fails here).
        keys = key_upload.prepare(shell.label, args["keys"]) if args["keys"] else []
        deliver = self._delivery(args, task_vars, path, shell)
        request = SwitchRequest(
            path,
            args["action"],
            check_mode=self._task.check_mode,
            on_inhibited=args["on_inhibited"],
            inhibitors_elsewhere=_local_inhibitors(path),
            specialisation=args["specialisation"] or None,
            install_bootloader=args["install_bootloader"],
            copies=deliver is not None,
            known_here=_local_toplevel(path),
        )
        times = PhaseTimes()
        started = time.monotonic()
        # The phases in order: probe, ensure present (the copy, one probe serving both), keys, transact
        # and confirm.
        plan = activator.plan(request)
        copied = False
        if deliver is not None and plan.needs_copy:
            _timed(times, deliver)
            plan, copied = activator.after_copy(plan), True
        prepared = activator.prepare(plan)
        # the pre-activation keys go up once the system is on the host, before it is activated
        before = key_upload.upload(shell, keys, UploadAt.PRE_ACTIVATION, self._task.check_mode)
        outcome = activator.activate(prepared)
        after = key_upload.upload(shell, keys, UploadAt.POST_ACTIVATION, self._task.check_mode)
        result = outcome.to_result()
        result["timings"] = _switch_timings(times, time.monotonic() - started, activator.confirm_seconds)
        result["keys_changed"] = before.changed + after.changed
        result["copied"] = copied
        result["switched"] = outcome.changed
        if args["copy"]:
            result["mode"] = args["mode"]
            result["built_on_target"] = copied and args["build_on_target"]
        result["changed"] = outcome.changed or bool(result["keys_changed"]) or result["copied"]
        if not self._task.check_mode:
            self._add_report_fields(activator, outcome, result)
            if outcome.changed and activator.deployer is not None:
                result["deployed_by"] = activator.deployer.describe()
        # Package by package: for the report (after a real switch) and for --diff (also in check mode).
        wanted = self._task.diff or (args["package_changes"] and not self._task.check_mode)
        if wanted and outcome.changed:
            on_target = not self._task.check_mode or activator.present(path)
            text = without_colours(
                closure_diff(shell, self.nix_cli(args), outcome.previous_path, path, args["drv_path"], on_target)
            )
            result["package_changes"] = [c.to_dict() for c in parse_diff_closures(text)]
            if self._task.diff:
                result["diff"] = {
                    "before_header": "running system",
                    "after_header": "new system (%s)" % args["action"],
                    "before": "%s\n" % (outcome.previous_path or "(none)"),
                    "after": "%s\n" % path,
                    "prepared": text,
                }
        if self._task.diff and keys:
            # Ansible shows a list of diffs one after another: the system's, then each key's (never its content).
            result["diff"] = ([result["diff"]] if "diff" in result else []) + before.diffs + after.diffs
        return result

    def _delivery(self, args, task_vars, path, shell):
        """With ``copy``: what puts the system on the host when the switch's probe finds it missing
        (as copy_closure would), its transfer settings checked before anything happens; the action
        runs it between the switch's phases."""
        if not args["copy"]:
            return None
        transfer = self.transfer(args)
        build_from = closure_transfer.build_source(args["build_on_target"], args["drv_path"])
        closure_transfer.check(transfer, build_from, shell.label)
        return lambda: closure_transfer.deliver(
            shell, path, transfer, self.nix_cli(args), lambda: self.ssh_target(task_vars), build_from
        )

    @staticmethod
    def _add_report_fields(activator, outcome, result):
        """For the deploy report: whether the host now needs a reboot (its running kernel is not the
        booted one), from the switch's own last probe. Closure sizes come from the controller's store
        (the build and the report measure them), not from nix-store processes on every target."""
        # An inhibited switch made the system the boot entry only: it runs after a reboot.
        result["needs_reboot"] = outcome.inhibited or (
            activator.last_state.needs_reboot if activator.last_state else False
        )


def _timed(times, deliver):
    with times.measure(TimedPhase.COPY):
        return deliver()


def _switch_timings(times, total, confirm_seconds):
    """Copy, activation (the rest of the switch: probes, the transaction) and confirmation, in seconds."""
    if confirm_seconds is not None:
        times.add(TimedPhase.CONFIRMATION, confirm_seconds)
    times.add(TimedPhase.ACTIVATION, total - sum(times.seconds.values()))
    return times.to_result()


def _local_toplevel(path):
    """The controller's store holds ``path`` as a NixOS toplevel (what a host's copy of it holds too).
    Not deploy-rs' activate.nixos wrapper: which toplevel it activates is probed on the host."""
    return (
        os.path.isfile(os.path.join(path, "nixos-version"))
        and os.access(os.path.join(path, "bin", "switch-to-configuration"), os.X_OK)
        and not os.path.exists(os.path.join(path, "deploy-rs-activate"))
    )


def _local_inhibitors(path):
    """The system's switch inhibitors as the controller's store has it (None when it is not there)."""
    local_file = os.path.join(path, switch_inhibitors.INHIBITORS_FILE)
    if os.path.exists(local_file):
        with open(local_file) as inhibitors:
            return inhibitors.read()
    return "" if os.path.exists(path) else None
