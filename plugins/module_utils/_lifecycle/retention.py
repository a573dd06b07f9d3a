# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Which generations of a profile to keep, and which may go (``nixfleet.nixos.generations``).

A generation is kept when the policy keeps it (one of the ``keep_last`` newest, or younger than
``keep_days`` days; either alone, or both: kept by either), and always when it is the profile's
current generation, the running or the booted system, or one of the ``protect`` paths (the system a
deploy just put there). A pure function of the probed state: the controller decides, the target
only deletes what it was told, after checking that its profile is still what was decided on.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Dict, Iterable, Optional, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generations import Generation, ProfileState

DAY = 86400


class KeepReason(enum.Enum):
    """Why a generation stays."""

    CURRENT = "current"  # the profile points at it
    RUNNING = "running"  # /run/current-system is its system
    BOOTED = "booted"  # /run/booted-system is its system
    PROTECTED = "protected"  # one of the paths the caller protects (a deploy's new system)
    LAST = "last"  # one of the keep_last newest
    RECENT = "recent"  # younger than keep_days
    UNDATED = "undated"  # its age could not be read, so keep_days cannot judge it


@dataclass(frozen=True)
class RetentionPolicy:
    """``keep_last`` newest generations and/or those younger than ``keep_days`` days; with neither,
    nothing is pruned (a garbage collection alone)."""

    keep_last: Optional[int] = None
    keep_days: Optional[int] = None

    def __post_init__(self) -> None:
        for name in ("keep_last", "keep_days"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError("%s must be a whole number of 0 or more, not %r" % (name, value))

    @property
    def prunes(self) -> bool:
        return self.keep_last is not None or self.keep_days is not None


@dataclass(frozen=True)
class Pruning:
    """The decision: ``delete`` goes, ``keep`` stays (number → why)."""

    delete: Tuple[Generation, ...]
    keep: Dict[int, Tuple[KeepReason, ...]]

    def to_result(self) -> dict:
        return {
            "deleted": [g.to_dict() for g in self.delete],
            "kept": [{"number": n, "reasons": [r.value for r in reasons]} for n, reasons in sorted(self.keep.items())],
        }


def _always_kept(state: ProfileState, generation: Generation, protect: Iterable[str]) -> Tuple[KeepReason, ...]:
    reasons = []
    if generation.number == state.current_number:
        reasons.append(KeepReason.CURRENT)
    if state.running_system and generation.path == state.running_system:
        reasons.append(KeepReason.RUNNING)
    if state.booted_system and generation.path == state.booted_system:
        reasons.append(KeepReason.BOOTED)
    if generation.path in protect:
        reasons.append(KeepReason.PROTECTED)
    return tuple(reasons)


def _kept_by_policy(policy: RetentionPolicy, rank: int, generation: Generation, now: int) -> Tuple[KeepReason, ...]:
    reasons = []
    if policy.keep_last is not None and rank < policy.keep_last:
        reasons.append(KeepReason.LAST)
    if policy.keep_days is not None:
        if generation.date is None:
            reasons.append(KeepReason.UNDATED)
        elif now - generation.date < policy.keep_days * DAY:
            reasons.append(KeepReason.RECENT)
    return tuple(reasons)


def plan_pruning(state: ProfileState, policy: RetentionPolicy, now: int, protect: Iterable[str] = ()) -> Pruning:
    """Split ``state``'s generations into kept and deleted; ``now`` is the target's clock (epoch s),
    which the generations' dates come from too."""
    protected = frozenset(protect)
    if not policy.prunes:
        return Pruning(delete=(), keep={g.number: _always_kept(state, g, protected) for g in state.generations})
    keep: Dict[int, Tuple[KeepReason, ...]] = {}
    delete = []
    newest_first = sorted(state.generations, key=lambda g: g.number, reverse=True)
    for rank, generation in enumerate(newest_first):
        reasons = _always_kept(state, generation, protected)
        reasons += _kept_by_policy(policy, rank, generation, now)
        if reasons:
            keep[generation.number] = reasons
        else:
            delete.append(generation)
    return Pruning(delete=tuple(sorted(delete, key=lambda g: g.number)), keep=keep)
