# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.facts (documented in plugins/modules/facts.py)."""

from __future__ import annotations

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import audit_log
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.garbage_collection import (
    parse_store_space,
    store_space_command,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generations import parse_probe, probe_command
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import sequence
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import PROFILE_ARGSPEC, NixosAction


class ActionModule(NixosAction):
    ARGSPEC = dict(PROFILE_ARGSPEC, records={"type": "int", "default": 10})

    def execute(self, args, task_vars):
        command = sequence(
            [probe_command(args["profile"]), store_space_command(), audit_log.read_command(args["records"])]
        )
        out = (
            self.shell(task_vars)
            .check(command, "reading the generations of %s" % args["profile"], privileged=False)
            .stdout
        )
        state = parse_probe(args["profile"], out)
        facts = state.to_facts()
        facts["nix_store_free_bytes"] = parse_store_space(out)
        records, malformed = audit_log.parse_records(out)
        explained = audit_log.explaining_record(records, state.running_system)
        facts["deployments"] = [r.to_dict() for r in records]
        facts["running_system_deployed_by"] = explained.to_dict() if explained else None
        result = {"changed": False, "ansible_facts": {"nixos": facts}}
        if malformed:
            result["warnings"] = ["%d line(s) of %s are not audit records" % (malformed, audit_log.AUDIT_LOG)]
        return result
