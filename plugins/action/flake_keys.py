# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.flake_keys (documented in plugins/modules/flake_keys.py)."""

from __future__ import annotations

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets.deployment_keys import flake_keys_expression
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError, nix_error_text
from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes.tool_settings import KEYS_VAR
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import NIX_ARGSPEC, NixosAction


class ActionModule(NixosAction):
    _requires_connection = False
    ARGSPEC = dict(NIX_ARGSPEC, hosts={"type": "list", "elements": "str"})

    def execute(self, args, task_vars):
        hostvars = task_vars.get("hostvars", {})
        hosts = args["hosts"] if args["hosts"] is not None else list(task_vars.get("ansible_play_batch", []))
        wanted = {}
        for host in hosts:
            hv = hostvars.get(host, {})
            if hv.get(KEYS_VAR) and hv.get("nixos_flake") and hv.get("nixos_attr") and not hv.get("nixos_eval_error"):
                wanted[host] = (str(hv["nixos_flake"]), str(hv["nixos_attr"]))
        keys, failed = {}, {}
        if wanted:
            cli = self.nix_cli(args)
            try:
                keys = cli.eval_expr_json(flake_keys_expression(wanted), "nix eval of the hosts' deployment.keys")
            except NixError:
                # Which host is to blame: each one alone (only when the whole failed).
                for host, where in wanted.items():
                    try:
                        keys.update(
                            cli.eval_expr_json(
                                flake_keys_expression({host: where}), "nix eval of the deployment.keys of %s" % host
                            )
                        )
                    except NixError as exc:
                        failed[host] = "%s.config.deployment.keys does not evaluate: %s" % (
                            where[1],
                            nix_error_text(exc.stderr) or exc,
                        )
        return {
            "changed": False,
            "host_keys": keys,
            "failed_hosts": failed,
            "msg": "read the keys of %d hosts" % len(keys),
        }
