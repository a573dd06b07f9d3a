# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operations the controller performs on a transaction (``module_utils.transaction``): launch it,
poll its verdict, confirm it over a fresh connection, clean up; each with the parser of its answer."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils.generation_commands import EXIT_FAILED_UNITS
from ansible_collections.nixfleet.nixos.plugins.module_utils.remote_operation import Answer, Operation
from ansible_collections.nixfleet.nixos.plugins.module_utils.shell import Command
from ansible_collections.nixfleet.nixos.plugins.module_utils.transaction import (
    CONFIRM_ABSENT, CONFIRM_DELETED, CONFIRM_REFUSED, RC_LOCKED, RC_NIXOS_LOCKED, RC_NOOP, RC_PROFILE, RC_STALE,
    Transaction, TxStatus, cleanup_command, confirm_command, launch_command, parse_status, split_launch_output,
    status_command)


@dataclass(frozen=True)
class Launch:
    """What the launch said: the verdict so far, the activation's exit code and output, and who
    holds the lock (LOCKED) or what the profile became (STALE)."""

    status: TxStatus
    rc: int
    stdout: str
    stderr: str
    holder: Optional[str]

    @property
    def units_failed(self) -> bool:
        return self.rc == EXIT_FAILED_UNITS


_BY_EXIT_CODE = {RC_LOCKED: TxStatus.LOCKED, RC_STALE: TxStatus.STALE, RC_PROFILE: TxStatus.PROFILE_FAILED,
                 RC_NOOP: TxStatus.NOOP, RC_NIXOS_LOCKED: TxStatus.NIXOS_LOCKED}


def parse_launch(answer: Answer) -> Launch:
    """The exit-code protocol first (``RC_*``), then the verdict line; an answer without either
    (the ssh session died, or the watchdog waits for its canary) is PENDING."""
    stdout, status, holder = split_launch_output(answer.stdout)
    verdict = _BY_EXIT_CODE.get(answer.rc) or TxStatus.read(status) or TxStatus.PENDING
    return Launch(verdict, answer.rc, stdout, answer.stderr, holder)


def launch(tx: Transaction, systemd: bool, unit: str) -> Operation[Launch]:
    return Operation("launch", launch_command(tx, systemd, unit), parse_launch)


def status(tx: Transaction) -> Operation[Optional[TxStatus]]:
    """Poll the verdict (None when the poll itself failed)."""
    return Operation("status", status_command(tx),
                     lambda a: (TxStatus.read(parse_status(a.stdout)[0]) or TxStatus.PENDING) if a.rc == 0 else None)


class Deletion(Enum):
    """What the confirmation did to the watchdog's canary."""

    DELETED = "deleted"  # exit CONFIRM_DELETED
    ABSENT = "absent"  # exit CONFIRM_ABSENT: the watchdog decided already, or an earlier attempt deleted it
    REFUSED = "refused"  # exit CONFIRM_REFUSED: rm failed (its error is in the answer)
    NO_CONNECTION = "no connection"  # exit 255: ssh could not connect
    FAILED = "failed"  # any other exit code (e.g. a privilege escalation that failed)


_DELETIONS = {CONFIRM_DELETED: Deletion.DELETED, CONFIRM_ABSENT: Deletion.ABSENT, CONFIRM_REFUSED: Deletion.REFUSED,
              255: Deletion.NO_CONNECTION}


@dataclass(frozen=True)
class Confirmation:
    deletion: Deletion
    status: TxStatus  # the watchdog's verdict, as the confirmation saw it
    answer: Answer  # the whole answer (its stdout also holds the ``then`` probe's output)

    @property
    def reached(self) -> bool:
        return self.deletion in (Deletion.DELETED, Deletion.ABSENT)


def parse_confirmation(answer: Answer) -> Confirmation:
    deletion = _DELETIONS.get(answer.rc, Deletion.FAILED)
    verdict = TxStatus.read(parse_status(answer.stdout)[0]) if deletion in (Deletion.DELETED, Deletion.ABSENT) else None
    return Confirmation(deletion, verdict or TxStatus.PENDING, answer)


def confirm(tx: Transaction, then: Optional[Command] = None) -> Operation[Confirmation]:
    return Operation("confirm", confirm_command(tx, then=then), parse_confirmation)


def cleanup(tx: Transaction) -> Operation[bool]:
    return Operation("cleanup", cleanup_command(tx), lambda a: a.rc == 0)
