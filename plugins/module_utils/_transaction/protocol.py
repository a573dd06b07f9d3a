# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""The transaction's protocol (internal to the collection): what ``deploy.sh`` answers and how the
controller reads it. One verdict is one member of ``Verdict`` (its status word, its exit code, and
what it means for the host: audited, kept, undone); every reader (``operations``, the activator, the
watchdog's confirmation, the audit log) goes through it. ``Deletion`` is the confirmation's answer.
"""

from __future__ import annotations

from enum import Enum
from typing import Dict, Optional, Tuple

STATE_KEYS = ("nixfleet-status", "nixfleet-holder")  # the state lines the controller reads back
RC_TIMED_OUT = 124  # coreutils timeout: the activation ran past activation_timeout and was killed


class _OwnExitCode:
    """An answer of the protocol that may have an exit code of its own (``exit_code``, None if not)."""

    name: str
    exit_code: Optional[int]

    @property
    def code(self) -> int:
        """Its own exit code (for a member that has one)."""
        if self.exit_code is None:
            raise ValueError("%s has no exit code of its own" % self.name)
        return self.exit_code


class Verdict(_OwnExitCode, Enum):
    """The script's verdict, as it writes it to ``status`` (PENDING: none yet, the watchdog waits).

    Each value: (status word, exit code of its own or None when the activation's is kept, audited:
    it changed the host so it is on record, kept: the new system stayed, undone: the host went back
    to what it ran before, the user's message: a template of ``explain``'s facts, or "")."""

    PENDING = ("", None, False, False, False, "")
    # the deploy lock was held for lock_wait seconds
    LOCKED = (
        "locked",
        75,
        False,
        False,
        False,
        "another deploy holds the lock {lock} (waited {wait}s): {holder}",
        "unknown holder",
    )
    # the profile changed while we waited for the lock
    STALE = (
        "stale",
        76,
        False,
        False,
        False,
        "the profile changed while this deploy waited for the lock (it is now "
        "{holder}, it was generation {generation}); nothing was done, run again",
        "empty",
    )
    PROFILE_FAILED = ("profile", 77, False, False, False, "setting {profile} failed")  # nix-env failed
    # another deploy already did exactly this (a warning)
    NOOP = (
        "noop",
        78,
        False,
        False,
        False,
        "{host}: another deploy already did this while this one waited for the lock",
    )
    # NixOS's switch-to-configuration lock is held
    NIXOS_LOCKED = (
        "nixos-locked",
        79,
        False,
        False,
        False,
        "NixOS's lock {nixos_lock} is held by {holder}: an activation still runs, or one crashed and a "
        "process it started kept the lock (deploy-rs#390); nothing was changed. Stop that process (or "
        "reboot the host) and deploy again",
        "an unknown process",
    )
    # activation failed; the previous generation is back
    FAILED_RESTORED = (
        "failed-restored",
        None,
        True,
        False,
        True,
        "{activation} failed{timed_out}; rolled back to {restored}",
    )
    # activation failed and auto_rollback is off: left as it is
    FAILED_KEPT = (
        "failed-kept",
        None,
        False,
        False,
        False,
        "{activation} failed{timed_out}; left as it is (auto rollback is off)",
    )
    DONE = ("done", None, True, True, False, "")  # activated (exit code 0, or 4: some units failed), no watchdog
    CONFIRMED = ("confirmed", None, True, True, False, "")  # activated and confirmed over a fresh connection
    # activated, unconfirmed: the watchdog restored the previous one (watchdog_confirmation words it)
    ROLLED_BACK = ("rolled-back", None, True, False, True, "")

    def __init__(
        self,
        word: str,
        exit_code: Optional[int],
        audited: bool,
        kept: bool,
        undone: bool,
        message: str,
        unknown_holder: str = "",
    ) -> None:
        self.word = word
        self.exit_code = exit_code
        self.audited = audited
        self.kept = kept
        self.undone = undone
        self.message = message
        self.unknown_holder = unknown_holder

    def explain(self, holder: Optional[str] = None, **facts: object) -> str:
        """The user's message: ``message`` with ``facts`` (and ``holder``, or what stands for an
        unknown one) filled in."""
        return self.message.format(holder=holder or self.unknown_holder, **facts)

    @classmethod
    def read(cls, text: Optional[str]) -> Optional["Verdict"]:
        """The verdict a state line names (PENDING for an empty one, None for an unknown one)."""
        return _BY_WORD.get((text or "").strip())

    @classmethod
    def of_exit_code(cls, rc: int) -> Optional["Verdict"]:
        """The verdict an exit code of its own says (None: the activation's exit code, or no verdict)."""
        return _BY_EXIT_CODE.get(rc)

    @property
    def final(self) -> bool:
        """Has the script decided (anything but PENDING)?"""
        return self is not Verdict.PENDING


_BY_WORD: Dict[str, Verdict] = {v.word: v for v in Verdict}
_BY_EXIT_CODE: Dict[int, Verdict] = {v.exit_code: v for v in Verdict if v.exit_code is not None}


def words(
    audited: Optional[bool] = None, kept: Optional[bool] = None, undone: Optional[bool] = None
) -> Tuple[str, ...]:
    """The status words of the verdicts with these properties (None: either)."""
    return tuple(
        v.word
        for v in Verdict
        if (audited is None or v.audited == audited)
        and (kept is None or v.kept == kept)
        and (undone is None or v.undone == undone)
    )


class Deletion(_OwnExitCode, Enum):
    """What the confirmation did to the watchdog's canary: (description, exit code of the confirm command)."""

    DELETED = ("deleted", 0)  # the canary was there and is gone
    ABSENT = ("absent", 3)  # no canary: the watchdog decided already, or an earlier attempt deleted it
    REFUSED = ("refused", 4)  # the canary is there and rm failed (its error is in the answer)
    NO_CONNECTION = ("no connection", 255)  # ssh could not connect
    FAILED = ("failed", None)  # any other exit code (e.g. a privilege escalation that failed)

    def __init__(self, description: str, exit_code: Optional[int]) -> None:
        self.description = description
        self.exit_code = exit_code

    @classmethod
    def of_exit_code(cls, rc: int) -> "Deletion":
        return next((d for d in cls if d.exit_code == rc), cls.FAILED)

    @property
    def reached(self) -> bool:
        """Did the confirmation reach the host and find the canary's fate?"""
        return self in (Deletion.DELETED, Deletion.ABSENT)
