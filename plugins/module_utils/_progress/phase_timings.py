# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""How long each phase of a deploy took, in seconds, where the work is done: the build task's
evaluation and build (all hosts at once), a switch's copy, activation and confirmation, a host's
health checks. Results carry them as ``timings``; the deploy report shows them per host."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, Iterator, Mapping, Optional


class TimedPhase(str, Enum):
    EVALUATION = "evaluation"
    BUILD = "build"
    COPY = "copy"
    ACTIVATION = "activation"
    CONFIRMATION = "confirmation"
    HEALTH = "health"


@dataclass
class PhaseTimes:
    """Seconds per phase; a phase measured twice adds up."""

    seconds: Dict[TimedPhase, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def measure(self, phase: TimedPhase) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.add(phase, time.monotonic() - started)

    def add(self, phase: TimedPhase, seconds: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + max(0.0, seconds)

    def to_result(self) -> Dict[str, float]:
        return {phase.value: round(value, 3) for phase, value in self.seconds.items()}


def from_result(result: Optional[Mapping[str, Any]]) -> Dict[str, float]:
    """A task result's ``timings`` (numbers only: a result is data from a run, not to be trusted blindly)."""
    timings = (result or {}).get("timings") or {}
    known = {p.value for p in TimedPhase}
    return (
        {
            k: float(v)
            for k, v in timings.items()
            if k in known and isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        if isinstance(timings, Mapping)
        else {}
    )


def task_seconds(result: Optional[Mapping[str, Any]]) -> Optional[float]:
    """How long a task ran, from the ``nixfleet_timing`` every nixfleet action returns."""
    timing = (result or {}).get("nixfleet_timing") or {}
    try:
        return max(0.0, float(timing["finished"]) - float(timing["started"]))
    except (KeyError, TypeError, ValueError):
        return None
