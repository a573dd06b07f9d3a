# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Deciding what placing an age key file on a host must do, and describing it without the key.

The rules (decided by comparing the file on the host with what was asked):

* same content, owner and mode → nothing to do;
* no file → write it;
* a file with other content → refuse, naming the recipients it holds, unless ``force``;
* same content, but readable by more than ``mode`` allows or owned by someone else → refuse
  (the key may have been read: rotate it), unless ``force``, which fixes owner and mode;
* same content and owner, mode merely stricter than asked → fix the mode;
* a symlink, directory or other non-regular file → refuse, even with ``force``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets.age_keys import AgeKeyError, recipients_of
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.target_file import FileState

NOTHING = "none"
WRITE = "write"
FIX_PERMISSIONS = "fix-permissions"


class KeyPlacementRefused(Exception):
    """The host's key file is in a state the task must not change without ``force`` (or at all)."""


@dataclass(frozen=True)
class Desired:
    path: str
    content: str
    uid: int
    gid: int
    mode: int

    def state(self) -> FileState:
        """The file as it will be."""
        return FileState("file", self.uid, self.gid, self.mode, self.content)


@dataclass
class Plan:
    action: str
    reasons: List[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.action != NOTHING


def normalise(content: str) -> str:
    """Key file content as written: the caller's text with exactly one trailing newline."""
    return content.rstrip("\n") + "\n"


def _recipients_or_unknown(content: str) -> List[str]:
    try:
        return recipients_of(content)
    except AgeKeyError:
        return ["<not a valid age identity file>"]


def plan(current: FileState, desired: Desired, force: bool) -> Plan:
    if current.kind in ("link", "other"):
        raise KeyPlacementRefused(
            "%s exists but is not a regular file (a symlink or directory); remove it first" % desired.path
        )
    if not current.exists:
        return Plan(WRITE, ["%s does not exist" % desired.path])
    if current.content != desired.content:
        if not force:
            raise KeyPlacementRefused(
                "%s already holds a different age identity (recipients: %s); set force: true to replace it"
                % (desired.path, ", ".join(_recipients_or_unknown(current.content)))
            )
        return Plan(WRITE, ["%s holds a different identity (replaced: force)" % desired.path])
    reasons = []
    wider = (current.mode or 0) & ~desired.mode
    foreign = (current.uid, current.gid) != (desired.uid, desired.gid)
    if wider or foreign:
        problem = "%s is owned by %s:%s with mode %04o (wanted %d:%d, %04o)" % (
            desired.path,
            current.uid,
            current.gid,
            current.mode or 0,
            desired.uid,
            desired.gid,
            desired.mode,
        )
        if not force:
            raise KeyPlacementRefused(
                problem + "; others may have read the key: rotate it, or set force: true to fix the owner and mode"
            )
        reasons.append(problem + " (fixed: force)")
    elif current.mode != desired.mode:
        reasons.append("%s has mode %04o, wanted %04o" % (desired.path, current.mode or 0, desired.mode))
    return Plan(FIX_PERMISSIONS if reasons else NOTHING, reasons)


def describe(path: str, state: FileState) -> str:
    """A diff-able description of a key file: owner, mode and recipients, never the key itself."""
    if not state.exists:
        return ""
    lines = [
        "path: %s" % path,
        "owner: %s:%s" % (state.uid, state.gid),
        "mode: %04o" % (state.mode or 0),
        "recipients:",
    ]
    lines += ["  - %s" % r for r in _recipients_or_unknown(state.content)]
    return "\n".join(lines) + "\n"
