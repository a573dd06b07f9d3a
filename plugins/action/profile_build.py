# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.profile_build (documented in plugins/modules/profile_build.py)."""

from __future__ import annotations

import os
import tempfile
from typing import Dict, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import profile_env as pe
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import NIX_ARGSPEC, NixosAction

READ = "builtins.mapAttrs (name: set: { env = set.env.outPath; inherit (set) packages; }) (import %s)"


class ActionModule(NixosAction):
    """Runs once on the controller: one nix eval and one nix build for every host's package set."""

    ARGSPEC = dict(NIX_ARGSPEC, packages_by_host={"type": "dict", "required": True})

    def execute(self, args, task_vars):
        by_set: Dict[Tuple[str, ...], str] = {}  # package list -> set name
        host_set: Dict[str, str] = {}
        for host, installables in sorted(args["packages_by_host"].items()):
            if not isinstance(installables, list) or not installables:
                raise NixError("%s: the package list must be a non-empty list of FLAKEREF#ATTRIBUTE" % host)
            key = tuple(sorted(str(i) for i in installables))
            for installable in key:
                try:
                    pe.parse_installable(installable)
                except pe.ProfileError as exc:
                    raise NixError(str(exc), host=host)
            host_set[host] = by_set.setdefault(key, "set%d" % len(by_set))
        try:
            text = pe.env_expression({name: list(key) for key, name in by_set.items()})
        except pe.ProfileError as exc:
            raise NixError(str(exc))
        nix = self.nix_cli(args)
        with tempfile.TemporaryDirectory(prefix="nixfleet-profile-") as tmp:
            file = os.path.join(tmp, "profiles.nix")
            with open(file, "w") as handle:
                handle.write(text)
            evaluated = nix.eval_expr_json(READ % file, "evaluating the package sets")
            calls = ["eval"]
            if not self._task.check_mode:
                built = nix.build_file(file, ["%s.env" % name for name in sorted(by_set.values())])
                calls.append("build")
                for name, entry in zip(sorted(by_set.values()), built):
                    if entry["outputs"]["out"] != evaluated[name]["env"]:
                        raise NixError(
                            "nix build made %s, not the evaluated %s"
                            % (entry["outputs"]["out"], evaluated[name]["env"])
                        )
        return {
            "changed": False,
            "nix_calls": calls,
            "sets": len(by_set),
            "paths": {host: evaluated[name]["env"] for host, name in host_set.items()},
            "packages": {host: evaluated[name]["packages"] for host, name in host_set.items()},
        }
