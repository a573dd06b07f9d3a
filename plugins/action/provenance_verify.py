# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.provenance_verify (documented in plugins/modules/provenance_verify.py)."""

from __future__ import annotations

import json

from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain import provenance as pv
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.store_path import store_path_option
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._secrets import dsse_signing
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import NixosAction


class ActionModule(NixosAction):
    ARGSPEC = {
        "keys": {"type": "list", "elements": "str", "required": True},
        "path": {"type": "str"},
        "fail": {"type": "bool", "default": False},
    }

    def execute(self, args, task_vars):
        host = self._label(task_vars)
        trusted = [dsse_signing.public_key(k, "keys[%d]" % i) for i, k in enumerate(args["keys"])]
        if not trusted:
            raise ValueError("keys: give at least one trusted public key")
        path = store_path_option(args["path"], "path") if args["path"] else None
        record = pv.parse_read(
            self.shell(task_vars)
            .check(pv.read_command(path), "reading the provenance on %s" % host, privileged=False)
            .stdout
        )
        result = {"changed": False, "system": record.system, "valid": False, "keyid": None, "statement": None}
        problem = self._problem(record, trusted, result)
        result["problem"] = problem or ""
        failure = "%s: NO VALID PROVENANCE for %s: %s" % (host, record.system or "-", problem) if problem else None
        return self.verdict(
            result,
            failure,
            args["fail"],
            "%s: %s is vouched for by key %s" % (host, record.system, str(result["keyid"] or "")[:16]),
        )

    @staticmethod
    def _problem(record, trusted, result):
        if not record.system:
            return "nothing runs (no /run/current-system)"
        if record.envelope_text is None:
            return "the host keeps no signed statement for it (%s)" % pv.host_file(record.system)
        try:
            body, keyid = dsse_signing.verified_by(json.loads(record.envelope_text), trusted)
        except (ValueError, pv.ProvenanceError) as exc:
            return "its statement is not a DSSE envelope (%s)" % exc
        if keyid is None:
            return "no trusted key signed its statement (or the statement was changed after signing)"
        problem = pv.statement_problem(body, record.system, record.nar_hash)
        if problem:
            return problem
        result.update(valid=True, keyid=keyid, statement=pv.summary(body))
        return None
