# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.sops_decrypt_check (documented in plugins/modules/sops_decrypt_check.py)."""

from __future__ import annotations

import os

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets import age_keys
from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets import sops_metadata as sm
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets.sops_unwrap import check_file
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._secrets import host_age_keys
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import NixosAction
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.controller_files import load_yaml


class ActionModule(NixosAction):
    PATH_OPTIONS = ("path",)
    ARGSPEC = {
        "files": {"type": "list", "elements": "path", "required": True},
        "base_dir": {"type": "path"},
        "identity": {"type": "str", "no_log": True},
        "source": {"type": "str", "default": host_age_keys.KEY_FILE, "choices": list(host_age_keys.SOURCES)},
        "path": {"type": "str"},
        "fail_on_error": {"type": "bool", "default": True},
    }

    def execute(self, args, task_vars):
        host = task_vars.get("inventory_hostname", "")
        if args["identity"] is not None:
            try:
                identities = age_keys.parse_identity_file(args["identity"], "identity")
            except age_keys.AgeKeyError as exc:
                raise NixError(str(exc))
        else:
            identities = host_age_keys.identities(self.shell(task_vars), args["source"], args["path"])
        results = []
        for name in args["files"]:
            path = os.path.join(args["base_dir"] or "", name)
            try:
                stanzas = sm.age_stanzas(load_yaml(path, "sops file"), path)
            except sm.SopsError as exc:
                raise NixError(str(exc))
            results.append(dict(check_file(stanzas, identities), file=name))
        bad = [r for r in results if not r["decryptable"]]
        result = {"changed": False, "files": results, "recipients": [i.recipient for i in identities]}
        problem = (
            "%s cannot decrypt: %s" % (host, "; ".join("%s (%s)" % (r["file"], r["reason"]) for r in bad))
            if bad
            else None
        )
        return self.verdict(
            result, problem, args["fail_on_error"], "%s can decrypt all %d files" % (host, len(results))
        )
