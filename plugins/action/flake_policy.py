# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.flake_policy (documented in plugins/modules/flake_policy.py)."""

from __future__ import annotations

import os

from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes import flake_policy as fp
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes.flake_ref import (
    local_source_dir,
    resolve_flake_ref,
)
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import NIX_ARGSPEC, NixosAction


def checked_ref(flake: str, base: str) -> str:
    """The flake ref (resolved like the inventory's ``flake:``); a local flake must hold flake.nix and
    flake.lock, since the policy checks what is locked."""
    try:
        ref = resolve_flake_ref(flake, base)
    except ValueError as exc:
        raise NixError(str(exc))
    directory = local_source_dir(ref)
    if directory is not None:
        if not os.path.isfile(os.path.join(directory, "flake.nix")):
            raise NixError("%s is not a flake (no flake.nix)" % directory)
        if not os.path.isfile(os.path.join(directory, "flake.lock")):
            raise NixError(
                "%s has no flake.lock: run 'nix flake lock' there and commit the lock file; the policy "
                "checks what is locked" % directory
            )
    return ref


class ActionModule(NixosAction):
    """Runs on the controller (in a play or in CI: ansible localhost -m nixfleet.nixos.flake_policy)."""

    ARGSPEC = dict(
        NIX_ARGSPEC,
        flake={"type": "str", "required": True},
        allowed_nixpkgs={"type": "list", "elements": "str", "default": []},
        nixpkgs_input={"type": "str", "default": "nixpkgs"},
        require_follows={"type": "bool", "default": True},
        forbid_path_inputs={"type": "bool", "default": True},
        max_age_days={"type": "int"},
        fail_on_violation={"type": "bool", "default": True},
    )

    def execute(self, args, task_vars):
        base = self._loader.get_basedir() if self._loader else os.getcwd()
        ref = checked_ref(args["flake"], base)
        metadata = self.nix_cli(args).flake_metadata(ref)
        policy = fp.Policy(
            allowed_nixpkgs=tuple(args["allowed_nixpkgs"]),
            nixpkgs_input=args["nixpkgs_input"],
            require_follows=args["require_follows"],
            forbid_path_inputs=args["forbid_path_inputs"],
            max_age_days=args["max_age_days"],
        )
        try:
            violations = fp.check(metadata.get("locks") or {}, policy)
        except fp.LockError as exc:
            raise NixError("%s: %s" % (ref, exc))
        result = {
            "changed": False,
            "flake": ref,
            "violations": [v.to_dict() for v in violations],
            "locked_url": metadata.get("url"),
        }
        problem = (
            "%s breaks the inputs policy: %s" % (ref, "; ".join(v.message for v in violations)) if violations else None
        )
        return self.verdict(result, problem, args["fail_on_violation"], "%s follows the inputs policy" % ref)
