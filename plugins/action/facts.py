# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.facts (documented in plugins/modules/facts.py)."""

from __future__ import annotations

from ansible_collections.nixfleet.nixos.plugins.module_utils.garbage_collection import (
    parse_store_space, store_space_command)
from ansible_collections.nixfleet.nixos.plugins.module_utils.generations import parse_probe, probe_command
from ansible_collections.nixfleet.nixos.plugins.plugin_utils.action_base import PROFILE_ARGSPEC, NixosAction


class ActionModule(NixosAction):

    ARGSPEC = dict(PROFILE_ARGSPEC)

    def execute(self, args, task_vars):
        out = self.shell(task_vars).check("%s; %s" % (probe_command(args["profile"]), store_space_command()),
                                          "reading the generations of %s" % args["profile"], privileged=False).stdout
        facts = parse_probe(args["profile"], out).to_facts()
        facts["nix_store_free_bytes"] = parse_store_space(out)
        return {"changed": False, "ansible_facts": {"nixos": facts}}
