# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.age_recipient (documented in plugins/modules/age_recipient.py)."""

from __future__ import annotations

from ansible_collections.nixfleet.nixos.plugins.plugin_utils._secrets import host_age_keys
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import NixosAction


class ActionModule(NixosAction):
    PATH_OPTIONS = ("path",)
    ARGSPEC = {
        "source": {"type": "str", "default": host_age_keys.SSH_HOST_KEY, "choices": list(host_age_keys.SOURCES)},
        "path": {"type": "str"},
    }

    def execute(self, args, task_vars):
        path = host_age_keys.default_path(args["source"], args["path"])
        recipients = host_age_keys.recipients(self.shell(task_vars), args["source"], path)
        return {
            "changed": False,
            "source": args["source"],
            "path": path,
            "recipients": recipients,
            "recipient": recipients[0],
        }
