# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Switching a host to a generation or rolling back, safely: the ``Activator``.

A switch runs as phases in order: ``plan`` (check the request, read the host's state and whether
the system is there, in one probe), ``after_copy`` (once the caller copied it), ``prepare`` (the
action once NixOS's switch inhibitors had their say, and whether anything changes: idempotence is
decided by comparing store paths), then ``activate``: the transaction and its confirmation, which
``host_transactions`` runs (one detached, locked script on the target that restores the previous
generation by itself when activation fails or magic rollback's confirmation does not come).
Everything runs as POSIX shell through a ``RemoteShell``, so the target needs no Python.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import generation_commands as ac
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import switch_inhibitors as si
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction import command as tr
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_operation import Operation
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import probe_field
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.activation_models import (
    Outcome,
    SwitchPlan,
    SwitchRequest,
    needs_change,
)
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.process import CommandResult
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.host_transactions import HostTransactions


class Activator(HostTransactions):
    """A switch as phases in order (``plan``, ``after_copy``, ``prepare``, ``activate``), a rollback, a
    deploy-rs profile's activation."""

    def switch(self, request: SwitchRequest) -> Outcome:
        """A switch whose system is on the host already and that brings no keys: its phases in order
        (``plan``, ``prepare``, ``activate``). A caller that copies the system or uploads keys runs
        the phases itself: ``plan``, the copy and ``after_copy`` when ``needs_copy``, ``prepare``,
        the keys, ``activate``."""
        return self.activate(self.prepare(self.plan(request)))

    def plan(self, request: SwitchRequest) -> SwitchPlan:
        """Phase 1, probe: check the request, read the host's state and whether the system is there
        (one round trip; with ``copies``, as a valid path, so that the copy can be decided on it)."""
        action, specialisation = request.action, request.specialisation
        if action not in ac.ACTIONS:
            raise self._fail("unknown action %r (one of %s)" % (action, ", ".join(ac.ACTIONS)))
        if specialisation is not None:
            try:
                ac.check_specialisation_name(specialisation)
            except ValueError as exc:
                raise self._fail(str(exc))
            if action not in ac.SETS_RUNNING:
                raise self._fail(
                    "a specialisation is activated by switch or test, not %s (the boot entry is always "
                    "the base system)" % action
                )
        before, out = self._probe(
            path=request.path, inhibitors=action in si.LIVE_ACTIONS, specialisation=specialisation, valid=request.copies
        )
        return SwitchPlan(request, before, out, self._present(request.path, _present_rc(out)))

    def after_copy(self, plan: SwitchPlan) -> SwitchPlan:
        """Phase 2, ensure present, once the caller copied the system (a copy that succeeded leaves a
        valid path): probe again, as its inhibitors and specialisations are readable now, unless the
        controller's store holds the system (``known_here``) and no specialisation is asked for."""
        request = plan.request
        if not request.known_here or request.specialisation:
            return self.plan(replace(request, copies=False, known_here=False))
        self._presence[request.path] = True
        return replace(plan, present=True, copied=True)

    def prepare(self, plan: SwitchPlan) -> Tuple[SwitchPlan, Outcome]:
        """Decide what the switch does (the action, once NixOS's switch inhibitors had their say) and
        whether it changes anything; fails, having changed nothing, when it cannot be done."""
        request, before, out, present = plan.request, plan.before, plan.probe_output, plan.present
        path, action, specialisation = request.path, request.action, request.specialisation
        # what /run/current-system will point at when not ``path``: a specialisation, or the toplevel
        # deploy-rs' activate.nixos wrapper activates
        running = (
            self._specialisation(path, specialisation, out, present) if specialisation else probe_field(out, "wraps")
        )
        inhibited = ""
        if action in si.LIVE_ACTIONS and before.running_system:
            found = si.read(out, present and not plan.copied, request.inhibitors_elsewhere)
            action, inhibited = self._inhibited(found, path, action, request.on_inhibited)
        previous = before.current
        outcome = Outcome(
            changed=needs_change(before, path, action, running),
            action=action,
            path=path,
            previous_path=before.running_system,
            previous_generation=previous.number if previous else None,
            generation=previous.number if previous else None,
            inhibited=bool(inhibited),
            specialisation=specialisation,
            activated_path=running,
            install_bootloader=request.install_bootloader and action in ac.SETS_PROFILE,
        )
        if inhibited:
            outcome.warnings.append(
                "%s: %s; made it the boot entry instead (on_inhibited=boot): it runs after a "
                "reboot" % (self.shell.label, inhibited)
            )
        if not present and (not request.check_mode or action == "dry-activate"):
            raise self._fail("%s is not in the target's store; copy it first (nixfleet.nixos.copy_closure)" % path)
        return plan, outcome

    def activate(self, prepared: Tuple[SwitchPlan, Outcome]) -> Outcome:
        """Phases 4 and 5, transact and confirm (``_transact``), or dry-activate; nothing in check mode
        or when nothing changes."""
        plan, outcome = prepared
        match outcome.action:
            case "dry-activate":
                result = self.shell.perform(
                    Operation("dry-activate", ac.dry_activate_command(outcome.path), _as_answered)
                )
                outcome.exit_code, outcome.stdout, outcome.stderr = result.rc, result.stdout, result.stderr
                if result.rc != 0:
                    raise self._fail("dry-activate of %s failed" % outcome.path, rc=result.rc, stderr=result.stderr)
                return outcome
            case _ if plan.request.check_mode or not outcome.changed:
                return outcome
            case _:
                return self._transact(plan.before, outcome)

    def _specialisation(self, path: str, name: str, out: str, present: bool) -> Optional[str]:
        """The toplevel ``PATH/specialisation/NAME`` resolves to (None when ``path`` is not on the host
        yet: check mode); a clear error when the system has no such specialisation."""
        if not present:
            return None
        found = probe_field(out, "specialisation")
        if not found:
            have = probe_field(out, "specialisations") or ""
            raise self._fail(
                "%s has no specialisation %r (it has: %s); nothing was changed"
                % (path, name, ", ".join(have.split()) or "none")
            )
        return found

    def _inhibited(self, found: si.Inhibitors, path: str, action: str, on_inhibited: str) -> Tuple[str, str]:
        """(the action to run, why the live one is inhibited, or ""); fails when it is and the user did
        not opt in to boot + reboot. Nothing has changed on the host yet."""
        if not found.block:
            return action, ""
        why = "the switch inhibitors of %s differ from the running system's (%s): NixOS refuses to %s it live" % (
            path,
            found.describe(),
            action,
        )
        if on_inhibited == "boot" and action == "switch":
            return "boot", why
        raise self._fail(
            "%s; nothing was changed. Deploy it with on_inhibited=boot (deploy role: "
            "nixos_deploy_on_inhibited: boot) to make it the boot entry and reboot into it" % why
        )

    def activate_profile(
        self, path: str, run_as: str = "", to_generation: Optional[int] = None, check_mode: bool = False
    ) -> Outcome:
        """deploy-rs' profiles besides ``system``: set the profile to ``path`` (or switch it back to
        generation ``to_generation``, which holds ``path``) and run its ``deploy-rs-activate`` as
        ``run_as`` (the profile's user) in one transaction: the deploy lock, magic rollback's
        watchdog, auto rollback and the audit log, as for a system."""
        before = self._probe()[0]
        outcome = Outcome(
            changed=before.profile_path != path,
            action="switch",
            path=path,
            previous_path=before.profile_path,
            previous_generation=before.current_number,
            generation=before.current_number,
        )
        if check_mode or not outcome.changed:
            return outcome
        return self._transact(
            before, outcome, to_generation=to_generation, activates=tr.Activates.DEPLOY_RS, run_as=run_as
        )

    def rollback(self, to: Optional[int] = None, action: str = "switch", check_mode: bool = False) -> Outcome:
        """Go back to generation ``to`` (default: the one before the current one)."""
        if action not in ac.SETS_PROFILE + ac.SETS_RUNNING:
            raise self._fail("rollback action must be switch, boot or test, not %r" % action)
        before = self.state()
        target = before.generation(to) if to is not None else before.previous()
        if target is None:
            have = ", ".join(str(g.number) for g in before.generations) or "none"
            wanted = "generation %d" % to if to is not None else "generation older than the current one"
            raise self._fail("%s has no %s (generations: %s)" % (self.profile, wanted, have))
        outcome = Outcome(
            changed=needs_change(before, target.path, action, target.runs),
            action=action,
            path=target.path,
            previous_path=before.running_system,
            activated_path=target.runs,
            previous_generation=before.current_number,
            generation=target.number,
        )
        if check_mode or not outcome.changed:
            return outcome
        return self._transact(before, outcome, to_generation=target.number)


def _as_answered(answer: CommandResult) -> CommandResult:
    """The parser of operations whose callers read the answer themselves."""
    return answer


def _present_rc(probe_output: str) -> int:
    value = probe_field(probe_output, "present")
    if value is None or not value.isdigit():
        raise NixError("the target's state probe did not say whether the system is in its store")
    return int(value)
