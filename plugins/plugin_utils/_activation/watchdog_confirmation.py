# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Magic rollback's confirmation: after a switch, the controller deletes the target's canary over a
*fresh* ssh connection within the confirm window, or the target's watchdog restores the previous
generation by itself (``module_utils._transaction`` writes both sides). This module is the
controller's side, and says in words what happened when the confirmation did not go through.
"""

from __future__ import annotations

import time
from typing import Optional, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction import command as tr
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction import operations as txo
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction.protocol import Deletion, Verdict
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError, nix_error_text
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generations import (
    ProfileState,
    parse_probe,
    probe_command,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_operation import Operation
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import sequence
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.remote_shell import RemoteShell

RECOVERY_GRACE = 60  # seconds to wait, after confirm_timeout, for a host that lost contact to come back
CONFIRMED = Verdict.CONFIRMED.word
ROLLED_BACK_ITSELF = "lost contact, target rolled itself back"
NO_CONNECTION = Deletion.NO_CONNECTION.description


class ActivationFailed(NixError):
    """Activation failed; the host was put back on its previous generation."""

    def __init__(self, message: str, **kwargs) -> None:
        super().__init__(message, rolled_back=True, **kwargs)


def confirm(
    fresh: RemoteShell, profile: str, tx: tr.Transaction, before: ProfileState, poll_interval: float, label: str
) -> Tuple[str, Optional[ProfileState]]:
    """Delete the watchdog's canary over a fresh connection, or report what happened instead:
    ``(CONFIRMED, the new state)``, or ActivationFailed / NixError.

    One fresh connection normally does it all: delete the canary, wait for the watchdog's
    verdict, clean up and read the new state (``tr.confirm_command``). Attempts are repeated
    until the confirm window closes, except when the canary could not be deleted; then the
    watchdog's verdict is awaited and reported with what went wrong."""
    started = time.monotonic()
    deadline = started + tx.confirm_timeout
    failure: Optional[str] = None  # what the last failed attempt said
    lost = False  # the last failed attempt could not connect
    reached = False
    state: Optional[ProfileState] = None
    status: Optional[Verdict] = None
    while time.monotonic() < deadline:
        attempt = fresh.perform(txo.confirm(tx, then=probe_command(profile, nix_version=False)))
        if attempt.reached:
            reached, status = True, attempt.verdict
            if status is Verdict.CONFIRMED:
                state = parse_probe(profile, attempt.answer.stdout)
            break
        failure, lost = _attempt_failure(tx, attempt), attempt.deletion is Deletion.NO_CONNECTION
        if attempt.deletion is Deletion.REFUSED:
            break
        time.sleep(poll_interval)
    # The watchdog decides when the window closes; a host that lost contact gets a grace period.
    verdict_by = time.monotonic() + 5 if reached else started + tx.confirm_timeout + RECOVERY_GRACE
    while status not in (Verdict.CONFIRMED, Verdict.ROLLED_BACK) and time.monotonic() < verdict_by:
        time.sleep(poll_interval)
        status = fresh.perform(txo.status(tx))
    if status is Verdict.CONFIRMED:
        if state is None:  # confirmed, but not by the attempt that read the state: clean up and read it
            out = fresh.perform(
                Operation(
                    "probe",
                    sequence([tr.cleanup_command(tx), probe_command(profile, nix_version=False)]),
                    lambda a: a.stdout,
                    what="reading the generations of %s" % profile,
                )
            )
            state = parse_probe(profile, out)
        return CONFIRMED, state
    back = restored(before, tx)
    if status is Verdict.ROLLED_BACK:
        fresh.perform(txo.cleanup(tx))
        if failure and not lost:
            raise ActivationFailed(
                "the new generation %s could not be confirmed: %s; so the target's watchdog "
                "rolled back to %s when its %ds confirm window closed" % (tx.path, failure, back, tx.confirm_timeout),
                host=label,
            )
        raise ActivationFailed(
            "%s: no fresh ssh connection to the host within %ds of activating %s, so the "
            "target rolled itself back to %s%s"
            % (
                ROLLED_BACK_ITSELF,
                tx.confirm_timeout,
                tx.path,
                back,
                " (last attempt: %s)" % failure if failure else "",
            ),
            host=label,
        )
    raise NixError(
        "lost contact with the host after activating %s (%s); waited %ds for its watchdog's "
        "verdict: unconfirmed, it restores %s by itself %ds after the activation"
        % (tx.path, failure or "no answer", int(time.monotonic() - started), back, tx.confirm_timeout),
        host=label,
    )


def _attempt_failure(tx: tr.Transaction, attempt: txo.Confirmation) -> str:
    """What one failed confirmation attempt says: the command's part that failed and its error."""
    answer = attempt.answer
    said = nix_error_text(answer.stderr or answer.stdout) or "no error message"
    if attempt.deletion is Deletion.NO_CONNECTION:
        return "%s: %s" % (NO_CONNECTION, said)
    if attempt.deletion is Deletion.REFUSED:
        return "'rm -f %s' over a fresh ssh connection failed: %s" % (tx.canary, said)
    return "the confirmation over a fresh ssh connection failed (exit code %d): %s" % (answer.rc, said)


def restored(before: ProfileState, tx: tr.Transaction) -> str:
    """What a rollback restores, in words."""
    if tx.activates is tr.Activates.DEPLOY_RS:
        return (
            "generation %d of %s" % (before.current_number, tx.profile)
            if before.current_number is not None
            else "no generation of %s" % tx.profile
        )
    if before.current_number is None:
        return "the state before (no generation, %s)" % (before.running_system or "nothing running")
    return "generation %d (%s)" % (before.current_number, before.running_system or "nothing running")
