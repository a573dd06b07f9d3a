# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Switching a host to a generation, rolling back, and undoing a failed activation.

Everything runs as POSIX shell commands through a ``RemoteShell`` (an Ansible connection or an
ssh process), so the target needs no Python. Idempotence is decided by comparing store paths
(``/run/current-system``, the profile) before anything is changed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import List, Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils import activation_command as ac
from ansible_collections.nixfleet.nixos.plugins.module_utils.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils.generations import (
    SYSTEM_PROFILE, ProfileState, parse_probe, probe_command)
from ansible_collections.nixfleet.nixos.plugins.plugin_utils.remote_shell import RemoteShell


class ActivationFailed(NixError):
    """Activation failed; the host was put back on its previous generation."""

    rolled_back = True


@dataclass
class Outcome:
    """What a switch or rollback did (or, in check mode, would do)."""

    changed: bool
    action: str
    path: str
    previous_path: Optional[str]
    previous_generation: Optional[int]
    generation: Optional[int] = None
    exit_code: Optional[int] = None
    failed_units: bool = False
    rolled_back: bool = False
    stdout: str = ""
    stderr: str = ""
    warnings: List[str] = field(default_factory=list)

    def to_result(self) -> dict:
        return dict(self.__dict__)


def needs_change(state: ProfileState, path: str, action: str) -> bool:
    """Would ``action`` of ``path`` change anything? (dry-activate never does.)"""
    if action == "dry-activate":
        return False
    running_ok = action not in ac.SETS_RUNNING or state.running_system == path
    profile_ok = action not in ac.SETS_PROFILE or state.profile_path == path
    return not (running_ok and profile_ok)


class Activator:
    def __init__(self, shell: RemoteShell, profile: str = SYSTEM_PROFILE) -> None:
        self.shell = shell
        self.profile = profile

    def state(self) -> ProfileState:
        out = self.shell.check(probe_command(self.profile), "reading the generations of %s" % self.profile).stdout
        return parse_probe(self.profile, out)

    def present(self, path: str) -> bool:
        """Is ``path`` on the target? Fails if it is there but is not a NixOS toplevel."""
        rc = self.shell.run(ac.is_toplevel_command(path)).rc
        if rc == 2:
            raise NixError("%s is not a NixOS system toplevel (no nixos-version or bin/switch-to-configuration)"
                           % path, host=self.shell.label)
        if rc not in (0, 3):
            raise NixError("checking %s failed" % path, rc=rc, host=self.shell.label)
        return rc == 0

    def activate(self, path: str, action: str, systemd: bool):
        unit = "nixfleet-switch-%s" % uuid.uuid4().hex[:12]
        return self.shell.run(ac.activation_command(path, action, systemd, unit))

    def _restore(self, before: ProfileState, action: str, created: Optional[int]) -> None:
        """Put profile, boot entry and running system back as they were in ``before``.

        ``created`` is the generation this attempt made (deleted again), if any.
        """
        if action in ac.SETS_PROFILE and self.state().current_number != before.current_number:
            if before.current_number is not None:
                self.shell.check(ac.switch_generation_command(self.profile, before.current_number),
                                 "restoring generation %d" % before.current_number)
                if created is not None and created != before.current_number:
                    self.shell.check(ac.delete_generation_command(self.profile, created),
                                     "deleting failed generation %d" % created)
            else:
                self.shell.check(ac.remove_profile_command(self.profile, created), "removing the failed profile")
        if action in ac.SETS_PROFILE and before.profile_path:
            self.activate(before.profile_path, "boot", before.has_systemd)
        if action in ac.SETS_RUNNING:
            if before.running_system:
                result = self.activate(before.running_system, "test", before.has_systemd)
                if result.rc not in (0, ac.EXIT_FAILED_UNITS):
                    raise NixError("re-activating the previous system %s failed too" % before.running_system,
                                   rc=result.rc, stderr=result.stderr, host=self.shell.label)
            else:
                self.shell.check("rm -f /run/current-system", "removing /run/current-system")

    def _run(self, before: ProfileState, outcome: Outcome, set_profile: str, creates: bool) -> Outcome:
        """Set the profile (``set_profile``), activate, verify; undo everything on failure.

        ``creates``: setting the profile makes a new generation (deleted again on failure).
        """
        created = None
        if outcome.action in ac.SETS_PROFILE:
            self.shell.check(set_profile, "setting %s" % self.profile)
            outcome.generation = self.state().current_number
            created = outcome.generation if creates else None
        result = self.activate(outcome.path, outcome.action, before.has_systemd)
        outcome.exit_code, outcome.stdout, outcome.stderr = result.rc, result.stdout, result.stderr
        problem = None
        if result.rc not in (0, ac.EXIT_FAILED_UNITS):
            problem = "activation (%s) of %s failed" % (outcome.action, outcome.path)
        elif outcome.action in ac.SETS_RUNNING and self.state().running_system != outcome.path:
            problem = "after activation /run/current-system is not %s" % outcome.path
        if problem:
            self._restore(before, outcome.action, created)
            back = ("generation %d" % before.current_number) if before.current_number is not None \
                else "the state before (no generation)"
            raise ActivationFailed("%s; rolled back to %s (%s)" % (problem, back, before.running_system or "nothing running"),
                           rc=result.rc, stderr=result.stderr, stdout=result.stdout, host=self.shell.label)
        if result.rc == ac.EXIT_FAILED_UNITS:
            outcome.failed_units = True
            outcome.warnings.append("%s: switched to %s, but some units failed (exit code 4): %s" % (
                self.shell.label, outcome.path, result.stderr.strip()))
        return outcome

    def switch(self, path: str, action: str = "switch", check_mode: bool = False) -> Outcome:
        if action not in ac.ACTIONS:
            raise NixError("unknown action %r (one of %s)" % (action, ", ".join(ac.ACTIONS)))
        before = self.state()
        previous = before.current
        outcome = Outcome(changed=needs_change(before, path, action), action=action, path=path,
                          previous_path=before.running_system,
                          previous_generation=previous.number if previous else None,
                          generation=previous.number if previous else None)
        present = self.present(path)
        if not present and (not check_mode or action == "dry-activate"):
            raise NixError("%s is not in the target's store; copy it first (nixfleet.nixos.copy_closure)" % path,
                           host=self.shell.label)
        if action == "dry-activate":
            result = self.activate(path, action, before.has_systemd)
            outcome.exit_code, outcome.stdout, outcome.stderr = result.rc, result.stdout, result.stderr
            if result.rc != 0:
                raise NixError("dry-activate of %s failed" % path, rc=result.rc, stderr=result.stderr,
                               host=self.shell.label)
            return outcome
        if check_mode or not outcome.changed:
            return outcome
        return self._run(before, outcome, ac.set_profile_command(self.profile, path), creates=True)

    def rollback(self, to: Optional[int] = None, action: str = "switch", check_mode: bool = False) -> Outcome:
        """Go back to generation ``to`` (default: the one before the current one)."""
        if action not in ac.SETS_PROFILE + ac.SETS_RUNNING:
            raise NixError("rollback action must be switch, boot or test, not %r" % action)
        before = self.state()
        target = before.generation(to) if to is not None else before.previous()
        if target is None:
            have = ", ".join(str(g.number) for g in before.generations) or "none"
            wanted = "generation %d" % to if to is not None else "a generation older than the current one"
            raise NixError("%s has no %s (generations: %s)" % (self.profile, wanted, have), host=self.shell.label)
        outcome = Outcome(changed=needs_change(before, target.path, action), action=action, path=target.path,
                          previous_path=before.running_system, previous_generation=before.current_number,
                          generation=target.number)
        if check_mode or not outcome.changed:
            return outcome
        outcome = self._run(before, outcome, ac.switch_generation_command(self.profile, target.number), creates=False)
        outcome.generation = target.number
        return outcome
