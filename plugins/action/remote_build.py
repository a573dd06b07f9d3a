# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.remote_build (documented in plugins/modules/remote_build.py)."""

from __future__ import annotations

from dataclasses import replace

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.store_path import store_path_option
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._transfer import closure_transfer
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build import remote_build
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import (
    NIX_ARGSPEC,
    SSH_STORE_ARGSPEC,
    NixosAction,
)
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.connection_shell import ConnectionShell


class ActionModule(NixosAction):
    """Runs with the build host's connection (``delegate_to``)."""

    ARGSPEC = dict(
        NIX_ARGSPEC,
        hosts={"type": "list", "elements": "str", "required": True},
        paths={"type": "dict", "required": True},
        drv_paths={"type": "dict", "required": True},
        **SSH_STORE_ARGSPEC,
    )

    def execute(self, args, task_vars):
        try:
            systems = {
                h: (store_path_option(args["drv_paths"][h], "drv_paths"), store_path_option(args["paths"][h], "paths"))
                for h in args["hosts"]
                if h in args["paths"]
            }
        except (KeyError, ValueError) as exc:
            raise NixError("the systems to build: %s" % exc)
        # the build host is the delegated one (inventory_hostname stays the play's host)
        label = str(self._task.delegate_to or task_vars.get("inventory_hostname"))
        builder = replace(self.ssh_target(task_vars), name=label)
        url = builder.store_url_with_key(args["scheme"])
        if self._task.check_mode:
            return {
                "changed": bool(systems),
                "built": {},
                "failed_hosts": {},
                "from_store": {},
                "builder": builder.label,
                "msg": "%d systems would be built on %s" % (len(systems), builder.label),
            }
        transfer = closure_transfer.Transfer(
            mode="push",
            scheme=args["scheme"],
            check_sigs=args["check_sigs"],
            lock_timeout=args["copy_lock_timeout"],
            stall_timeout=args["copy_stall_timeout"],
        )
        report = remote_build.build(ConnectionShell(self, label), self.nix_cli(args), builder, systems, transfer)
        return {
            "changed": "realise" in report.steps,
            "built": report.built,
            "failed_hosts": report.failed,
            "steps": report.steps,
            "builder": builder.label,
            "from_store": {host: url for host in report.built},
            "msg": "%d of %d systems built on %s" % (len(report.built), len(systems), builder.label),
        }
