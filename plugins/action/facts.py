# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.facts (documented in plugins/modules/facts.py)."""

from __future__ import annotations

from ansible_collections.nixfleet.nixos.plugins.plugin_utils.action_base import PROFILE_ARGSPEC, NixosAction
from ansible_collections.nixfleet.nixos.plugins.plugin_utils.activation import Activator


class ActionModule(NixosAction):

    ARGSPEC = dict(PROFILE_ARGSPEC)

    def execute(self, args, task_vars):
        state = Activator(self.shell(task_vars), args["profile"]).state()
        return {"changed": False, "ansible_facts": {"nixos": state.to_facts()}}
