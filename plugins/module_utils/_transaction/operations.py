# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""The operations the controller performs on a transaction (internal to the collection; the commands
are ``command``'s): launch it, poll its verdict, confirm it over a fresh connection, clean up; each
with the parser of its answer, read through ``protocol``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generation_commands import EXIT_FAILED_UNITS
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_operation import Answer, Operation
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction.command import (
    Transaction,
    cleanup_command,
    confirm_command,
    launch_command,
    parse_status,
    split_launch_output,
    status_command,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction.protocol import Deletion, Verdict


@dataclass(frozen=True)
class Launch:
    """What the launch said: the verdict so far, the activation's exit code and output, and who
    holds the lock (LOCKED) or what the profile became (STALE)."""

    verdict: Verdict
    rc: int
    stdout: str
    stderr: str
    holder: Optional[str]

    @property
    def units_failed(self) -> bool:
        return self.rc == EXIT_FAILED_UNITS


def parse_launch(answer: Answer) -> Launch:
    """The verdicts' own exit codes first, then the verdict line; an answer without either (the ssh
    session died, or the watchdog waits for its canary) is PENDING."""
    stdout, status, holder = split_launch_output(answer.stdout)
    verdict = Verdict.of_exit_code(answer.rc) or Verdict.read(status) or Verdict.PENDING
    return Launch(verdict, answer.rc, stdout, answer.stderr, holder)


def launch(tx: Transaction, systemd: bool, unit: str) -> Operation[Launch]:
    return Operation("launch", launch_command(tx, systemd, unit), parse_launch)


def status(tx: Transaction) -> Operation[Optional[Verdict]]:
    """Poll the verdict (None when the poll itself failed)."""
    return Operation(
        "status",
        status_command(tx),
        lambda a: (Verdict.read(parse_status(a.stdout)[0]) or Verdict.PENDING) if a.rc == 0 else None,
    )


@dataclass(frozen=True)
class Confirmation:
    deletion: Deletion
    verdict: Verdict  # the watchdog's verdict, as the confirmation saw it
    answer: Answer  # the whole answer (its stdout also holds the ``then`` probe's output)

    @property
    def reached(self) -> bool:
        return self.deletion.reached


def parse_confirmation(answer: Answer) -> Confirmation:
    deletion = Deletion.of_exit_code(answer.rc)
    verdict = Verdict.read(parse_status(answer.stdout)[0]) if deletion.reached else None
    return Confirmation(deletion, verdict or Verdict.PENDING, answer)


def confirm(tx: Transaction, then: Optional[Command] = None) -> Operation[Confirmation]:
    return Operation("confirm", confirm_command(tx, then=then), parse_confirmation)


def cleanup(tx: Transaction) -> Operation[bool]:
    return Operation("cleanup", cleanup_command(tx), lambda a: a.rc == 0)
