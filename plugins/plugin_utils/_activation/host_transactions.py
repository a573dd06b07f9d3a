# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""The activator's core (internal to the activator): reading a host's generations in one probe,
and phases 4 and 5 of a change — the detached, locked transaction script launched on the target
(see ``module_utils._transaction``), its verdict judged, then magic rollback's confirmation over a
fresh connection or the state it left read back. ``activation.Activator`` adds the phases before
(probe, ensure present, prepare), rollback and deploy-rs profiles.
"""

from __future__ import annotations

import time
import uuid
from typing import Callable, Dict, Optional, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import audit_log, generation_commands as ac
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import switch_inhibitors as si
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction import command as tr
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction import operations as txo
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction.protocol import RC_TIMED_OUT, Verdict
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generations import (
    SYSTEM_PROFILE,
    ProfileState,
    parse_probe,
    probe_command,
    wraps_command,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_operation import Operation
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import (
    Command,
    raw,
    sequence,
)
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.activation_models import (
    Outcome,
    Safety,
)
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.deployer_identity import owner_label
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.process import CommandResult
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation import watchdog_confirmation as wc
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.remote_shell import RemoteShell
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.watchdog_confirmation import ActivationFailed

ACTIVATION_WAIT = 600  # seconds to wait for the verdict of a script whose launch session dropped


class HostTransactions:
    """A host's profile, probed, and changed by one transaction at a time."""

    def __init__(
        self,
        shell: RemoteShell,
        profile: str = SYSTEM_PROFILE,
        fresh: Optional[RemoteShell] = None,
        safety: Optional[Safety] = None,
        deployer: Optional[audit_log.Deployer] = None,
    ) -> None:
        self.shell = shell
        self.deployer = deployer  # with one, every change is appended to the host's audit log
        self.fresh = fresh or shell  # a new connection per command, for confirmation
        self.profile = profile
        self.safety = safety or Safety()
        self.last_state: Optional[ProfileState] = None  # as the latest probe saw it
        self._presence: Dict[str, bool] = {}  # toplevels the probes found in the store (or not)
        self.on_confirming: Optional[Callable[[], object]] = None  # told when the confirmation begins
        self.confirm_seconds: Optional[float] = None  # how long magic rollback's confirmation took

    def state(self) -> ProfileState:
        return self._probe(nix_version=True)[0]

    def _probe(
        self,
        path: Optional[str] = None,
        shell: Optional[RemoteShell] = None,
        before: Optional[Command] = None,
        nix_version: bool = False,
        inhibitors: bool = False,
        specialisation: Optional[str] = None,
        valid: bool = False,
    ) -> Tuple[ProfileState, str]:
        """One round trip: the profile's state, plus (with ``path``) whether that system is in the store
        (with ``valid``, as a valid path, not only files on disk; with ``inhibitors``, its and the running
        system's switch inhibitors).
        Only shell builtins and coreutils run (no ``nix-*`` process: each costs the target tens of
        milliseconds of CPU). Returns the state and the raw output."""
        parts = [before] if before else []
        parts.append(probe_command(self.profile, nix_version=nix_version))
        if path:
            test = ac.is_valid_toplevel_command(path) if valid else ac.is_toplevel_command(path)
            parts += [raw("(@{test}); printf 'present\\t%s\\n' $?", test=test), wraps_command(path)]
            if inhibitors:
                parts.append(si.lines_command(path))
            if specialisation:
                parts.append(ac.specialisation_command(path, specialisation))
        # Reading needs no root; cleaning up the work directory first (``before``) does.
        out = (shell or self.shell).perform(
            Operation(
                "probe",
                sequence(parts),
                _stdout,
                privileged=bool(before),
                what="reading the generations of %s" % self.profile,
            )
        )
        state = parse_probe(self.profile, out)
        self.last_state = state
        return state, out

    def present(self, path: str) -> bool:
        """Is ``path`` on the target? Fails if it is there but is not a NixOS toplevel. (A path the
        switch's probe already looked at is not asked about again.)"""
        if path in self._presence:
            return self._presence[path]
        toplevel = Operation("present", ac.is_toplevel_command(path), _exit_code, privileged=False)
        return self._present(path, self.shell.perform(toplevel))

    def _present(self, path: str, rc: int) -> bool:
        if rc == 2:
            raise NixError(
                "%s is not a NixOS system toplevel (no nixos-version or bin/switch-to-configuration)" % path,
                host=self.shell.label,
            )
        if rc not in (0, 3):
            raise NixError("checking %s failed" % path, rc=rc, host=self.shell.label)
        self._presence[path] = rc == 0
        return rc == 0

    def _fail(self, message: str, **kwargs) -> NixError:
        return NixError(message, host=self.shell.label, **kwargs)

    def _transact(
        self,
        before: ProfileState,
        outcome: Outcome,
        to_generation: Optional[int] = None,
        activates: tr.Activates = tr.Activates.NIXOS,
        run_as: str = "",
    ) -> Outcome:
        """Phases 4 and 5: launch the transaction, judge its verdict, then confirm it (magic rollback)
        or read the state it left."""
        tx = self._transaction(before, outcome, to_generation, activates, run_as)
        launched = self._launch(tx, before)
        outcome.exit_code, outcome.stdout, outcome.stderr = launched.rc, launched.stdout, launched.stderr
        match launched.verdict:
            case Verdict.NOOP:
                outcome.changed = False
                outcome.warnings.append(Verdict.NOOP.explain(host=self.shell.label))
                self.shell.perform(txo.cleanup(tx))
                return outcome
            case (
                Verdict.LOCKED
                | Verdict.NIXOS_LOCKED
                | Verdict.STALE
                | Verdict.PROFILE_FAILED
                | Verdict.FAILED_KEPT
                | Verdict.FAILED_RESTORED
            ):
                raise self._failure(tx, before, launched)
            case _:  # DONE; or PENDING: the watchdog waits for its canary to go, or the session died first
                return self._settle(tx, before, launched, outcome)

    def _transaction(
        self, before: ProfileState, outcome: Outcome, to_generation: Optional[int], activates: tr.Activates, run_as: str
    ) -> tr.Transaction:
        """The transaction of ``outcome``'s change, from the host's state ``before``."""
        previous = before.running_system if activates is tr.Activates.NIXOS else before.profile_path
        return tr.Transaction(
            path=outcome.path,
            action=outcome.action,
            profile=self.profile,
            work_dir="%s/%s" % (self.safety.work_root, uuid.uuid4().hex[:16]),
            activate_path=outcome.activated_path or "",
            activation_timeout=self.safety.activation_timeout,
            auto_rollback=self.safety.auto_rollback,
            install_bootloader=outcome.install_bootloader,
            owner=owner_label(self.shell.label, outcome.path),
            prev_generation=before.current_number,
            prev_profile_path=before.profile_path,
            prev_running=before.running_system,
            to_generation=to_generation,
            confirm_timeout=self.safety.confirm_timeout if self._watchdog(outcome.action) else 0,
            lock_wait=self.safety.lock_timeout,
            activates=activates,
            run_as=run_as,
            audit_keep=self.safety.audit_keep,
            audit_head=audit_log.record_head(
                self.deployer,
                self.shell.label,
                "deploy" if to_generation is None else "rollback",
                outcome.action,
                outcome.path,
                previous,
                before.current_number,
                profile=self.profile if activates is tr.Activates.DEPLOY_RS else None,
            )
            if self.deployer
            else "",
        )

    def _watchdog(self, action: str) -> bool:
        """Does magic rollback's watchdog guard this action?"""
        return self.safety.magic_rollback and action in ac.SETS_RUNNING

    def _launch(self, tx: tr.Transaction, before: ProfileState) -> txo.Launch:
        """Start the script and read its verdict (without a watchdog, also when the session dropped)."""
        unit = "nixfleet-%s" % tx.work_dir.rsplit("/", 1)[-1]
        # The session may drop (an activation that restarts sshd or the network): the script goes on.
        with self.shell.disconnect_tolerated():
            launched = self.shell.perform(txo.launch(tx, before.has_systemd, unit))
        if launched.verdict is Verdict.PENDING and not self._watchdog(tx.action):
            launched = self._await_verdict(tx, launched)
        return launched

    def _failure(self, tx: tr.Transaction, before: ProfileState, launched: txo.Launch) -> NixError:
        """The error of a verdict that ends the change (in the verdict's words)."""
        verdict = launched.verdict
        match verdict:
            case Verdict.LOCKED | Verdict.NIXOS_LOCKED | Verdict.STALE:  # nothing was changed
                return self._fail(
                    verdict.explain(
                        launched.holder,
                        lock=tr.LOCK_FILE,
                        wait=tx.lock_wait,
                        nixos_lock=tr.NIXOS_LOCK,
                        generation=tx.prev_generation,
                    )
                )
            case Verdict.PROFILE_FAILED:
                return self._fail(verdict.explain(profile=self.profile), rc=launched.rc, stderr=launched.stderr)
            case Verdict.FAILED_KEPT:
                return self._fail(
                    verdict.explain(
                        activation=_activation_of(tx), timed_out=_timed_out(launched.rc, tx.activation_timeout)
                    ),
                    rc=launched.rc,
                    stderr=launched.stderr,
                    stdout=launched.stdout,
                )
            case Verdict.FAILED_RESTORED:
                self._check_restored(tx, before, launched)
                return ActivationFailed(
                    verdict.explain(
                        activation=_activation_of(tx),
                        timed_out=_timed_out(launched.rc, tx.activation_timeout),
                        restored=wc.restored(before, tx),
                    ),
                    rc=launched.rc,
                    stderr=launched.stderr,
                    stdout=launched.stdout,
                    host=self.shell.label,
                )
            case _:
                raise ValueError("%s does not end a change" % verdict)

    def _settle(self, tx: tr.Transaction, before: ProfileState, launched: txo.Launch, outcome: Outcome) -> Outcome:
        """Phase 5, confirm: with a watchdog, over a fresh connection; without, read the state the
        change left (cleaning up its work directory in the same round trip)."""
        if self._watchdog(tx.action):
            outcome.confirmation = self._confirm(tx, before)
            after = self.last_state
        else:  # DONE (or PENDING: the session died; the probe says where the host is)
            after = self._probe(before=tr.cleanup_command(tx))[0]
        if launched.units_failed:
            outcome.failed_units = True
            outcome.warnings.append(
                "%s: switched to %s, but some units failed (exit code 4): %s"
                % (self.shell.label, outcome.path, launched.stderr.strip())
            )
        outcome.generation = after.current_number if after else None
        return outcome

    def _await_verdict(self, tx: tr.Transaction, launched: txo.Launch) -> txo.Launch:
        """The launch's session died before the script's verdict (no watchdog to confirm): poll it over
        fresh connections until the script has one, so the host is never judged half-way."""
        deadline = time.monotonic() + ACTIVATION_WAIT
        while time.monotonic() < deadline:
            status = self.fresh.perform(txo.status(tx))
            if status not in (None, Verdict.PENDING):
                return txo.Launch(status, launched.rc, launched.stdout, launched.stderr, launched.holder)
            time.sleep(self.safety.poll_interval)
        raise self._fail(
            "the ssh session of the activation of %s dropped, and its script gave no verdict within "
            "%ds; its output is in %s on the host" % (tx.path, ACTIVATION_WAIT, tx.work_dir)
        )

    def _check_restored(self, tx: tr.Transaction, before: ProfileState, launched: txo.Launch) -> None:
        """After a failed activation the script restored the previous state: is the host really back
        (profile and running system as before)? If not, say where it is instead; the restore's own
        output stays in the work directory (as after every failure: the host's /run is a tmpfs)."""
        after = self._probe()[0]
        profile_back = tx.action not in ac.SETS_PROFILE or after.profile_path == before.profile_path
        running_back = tx.action not in ac.SETS_RUNNING or after.running_system == before.running_system
        if profile_back and running_back:
            return
        raise self._fail(
            "activation (%s) of %s failed, and restoring the previous state failed too: the profile "
            "is %s (was %s), the running system %s (was %s); the restore's output is in %s/restore on "
            "the host"
            % (
                tx.action,
                tx.path,
                after.profile_path or "empty",
                before.profile_path or "empty",
                after.running_system or "none",
                before.running_system or "none",
                tx.work_dir,
            ),
            rc=launched.rc,
            stderr=launched.stderr,
            stdout=launched.stdout,
        )

    def _confirm(self, tx: tr.Transaction, before: ProfileState) -> str:
        """Magic rollback's confirmation (``watchdog_confirmation.confirm``); the new state it read
        becomes ``last_state``."""
        started = time.monotonic()
        if self.on_confirming is not None:
            self.on_confirming()
        verdict, state = wc.confirm(self.fresh, self.profile, tx, before, self.safety.poll_interval, self.shell.label)
        self.last_state, self.confirm_seconds = state, time.monotonic() - started
        return verdict


def _stdout(answer: CommandResult) -> str:
    return answer.stdout


def _exit_code(answer: CommandResult) -> int:
    return answer.rc


def _activation_of(tx: tr.Transaction) -> str:
    """The activation a failure is about, in words."""
    if tx.activates is tr.Activates.DEPLOY_RS:
        return "activation (%s) of %s in %s" % (ac.DEPLOY_RS_ACTIVATE, tx.path, tx.profile)
    return "activation (%s) of %s" % (tx.action, tx.path)


def _timed_out(rc: int, limit: int) -> str:
    """ ", killed after its activation timeout of N s" when that is why it failed."""
    return ", killed after its activation timeout of %ds" % limit if limit and rc == RC_TIMED_OUT else ""
