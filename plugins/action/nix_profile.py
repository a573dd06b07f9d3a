# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.nix_profile (documented in plugins/modules/nix_profile.py)."""

from __future__ import annotations

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import profile_env as pe
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.account_name import is_account_name
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generation_commands import (
    set_profile_command,
    switch_generation_command,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generations import (
    parse_generation_link,
    parse_probe,
    probe_command,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import argv
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.store_path import store_path_option
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generation_commands import NOTHING_TO_ACTIVATE
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._transfer import closure_transfer
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote import remote_files
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import (
    NIX_ARGSPEC,
    SAFETY_ARGSPEC,
    TRANSFER_ARGSPEC,
    NixosAction,
)

PROFILES = "/nix/var/nix/profiles"


class ActionModule(NixosAction):
    PATH_OPTIONS = ("bin_dir",)
    ARGSPEC = dict(
        NIX_ARGSPEC,
        name={"type": "str"},
        profile={"type": "str"},
        path={"type": "str"},
        packages={"type": "list", "elements": "str"},
        state={"type": "str", "default": "present", "choices": ["present", "rollback"]},
        generation={"type": "int"},
        bin_dir={"type": "str"},
        profile_d={"type": "bool", "default": False},
        activate={"type": "bool", "default": False},
        user={"type": "str", "default": "root"},
        **SAFETY_ARGSPEC,
        **TRANSFER_ARGSPEC,
    )

    def execute(self, args, task_vars):
        if not (args["name"] or args["profile"]):
            raise NixError("give name (the profile becomes %s/NAME) or profile (its path)" % PROFILES)
        try:
            if args["name"]:
                pe.check_profile_name(args["name"])
            profile = pe.check_profile_path(args["profile"] or "%s/%s" % (PROFILES, args["name"]))
            name = pe.check_profile_name(args["name"] or profile.rsplit("/", 1)[-1])
        except pe.ProfileError as exc:
            raise NixError(str(exc))
        if args["activate"] and not is_account_name(args["user"]):
            raise NixError("user %r is not a user name" % (args["user"],))
        shell = self.shell(task_vars)
        probed = shell.check(
            probe_command(profile).then(pe.references_command(profile)), "reading %s" % profile, privileged=False
        ).stdout
        state = parse_probe(profile, probed)
        before = pe.packages_of(pe.parse_references(probed))
        goal = None
        if args["state"] == "present":
            target, after = self._present(args, shell, task_vars, state)
        else:
            goal, after = self._rollback(args, shell, state)
            target = goal.path
        changed = state.profile_path != target
        result = {
            "changed": changed,
            "profile": profile,
            "path": target,
            "previous_generation": state.current_number,
            "generation": state.current_number,
            "packages": ["%s %s" % (p.name, p.version) for p in after],
            "package_changes": pe.diff(before, after),
        }
        if self._task.diff and changed:
            result["diff"] = {
                "before_header": "%s (packages)" % profile,
                "after_header": "%s (packages)" % profile,
                "before": pe.describe(before),
                "after": pe.describe(after),
            }
        if self._task.check_mode:
            return result
        if changed and args["activate"]:
            # deploy-rs' way: set and activate in one locked transaction, with magic and auto rollback
            outcome = self.activator(dict(args, profile=profile), task_vars).activate_profile(
                target, args["user"], to_generation=goal.number if goal else None
            )
            result.update(
                generation=outcome.generation,
                activated=NOTHING_TO_ACTIVATE not in outcome.stdout,
                confirmation=outcome.confirmation,
            )
            if outcome.warnings:
                result["warnings"] = list(outcome.warnings)
        elif changed and goal is not None:
            shell.check(switch_generation_command(profile, goal.number), "rolling %s back" % profile)
            result["generation"] = goal.number
        elif changed:
            link = (
                shell.check(
                    set_profile_command(profile, target).and_then(argv("readlink", profile)), "setting %s" % profile
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            result["generation"] = parse_generation_link(profile, link)
        links, warnings = self._links(args, shell, profile, name)
        result["links"] = links
        if warnings:
            result["warnings"] = result.get("warnings", []) + warnings
        result["changed"] = changed or bool(links)
        return result

    def _present(self, args, shell, task_vars, state):
        if not args["path"]:
            raise NixError("state=present needs path (the profile's store path, from nixfleet.nixos.profile_build)")
        path = store_path_option(args["path"], "path")
        packages = args["packages"]
        if packages is None:
            packages = self.nix_cli(args).references(path)
        if state.profile_path != path and not self._task.check_mode:
            closure_transfer.ensure(
                shell, path, self.transfer(args), self.nix_cli(args), lambda: self.ssh_target(task_vars)
            )
        return path, pe.packages_of(packages)

    @staticmethod
    def _rollback(args, shell, state):
        goal = state.generation(args["generation"]) if args["generation"] is not None else state.previous()
        if goal is None:
            raise NixError(
                "%s has no generation %s to roll back to (generations: %s)"
                % (
                    state.profile,
                    args["generation"] if args["generation"] is not None else "before the current one",
                    ", ".join(str(g.number) for g in state.generations) or "none",
                ),
                host=shell.label,
            )
        listed = shell.check(pe.references_command(goal.path), "listing %s" % goal.path, privileged=False)
        refs = pe.parse_references(listed.stdout)
        return goal, pe.packages_of(refs)

    @staticmethod
    def _links(args, shell, profile, name):
        """Link bin/ into bin_dir and write the profile.d snippet: (what changed, warnings)."""
        done, warnings = [], []
        if args["bin_dir"]:
            out = shell.check(pe.link_bin_command(profile, args["bin_dir"]), "linking %s/bin" % profile).stdout
            done += [line for line in out.splitlines() if line.startswith(("linked ", "removed "))]
            skipped = [line for line in out.splitlines() if line.startswith("skipped ")]
            if skipped:
                warnings.append(
                    "%s: not replaced (not links into %s/bin): %s"
                    % (shell.label, profile, ", ".join(s[len("skipped ") :] for s in skipped))
                )
        if args["profile_d"]:
            script = "/etc/profile.d/nix-profile-%s.sh" % name
            if remote_files.ensure(shell, script, pe.profile_d_script(profile)):
                done.append("wrote %s" % script)
        return done, warnings
