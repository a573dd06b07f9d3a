"""Issue 21's targets, judged on the medians of a run's records (bench/results/results.json): the
records' queries, the evaluation floor, and each target's measured value against its limit."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

# A value measured at a fleet size: (records, size) -> the value, or None where nothing was measured.
Quantity = Callable[[List[Dict], int], Optional[float]]


def runs(records: List[Dict], **match) -> List[Dict]:
    return [r for r in records if all(r.get(k) == v for k, v in match.items())]


def median(records: List[Dict], key: str = "seconds", **match) -> Optional[float]:
    values = [r[key] for r in runs(records, **match) if r.get(key) is not None]
    return statistics.median(values) if values else None


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a is not None and b else None


def evaluation_floor(records: List[Dict], size: int) -> Optional[float]:
    """The least a build phase of ``size`` evaluation-heavy hosts can take: one host's evaluation CPU
    (median, measured alone) times the hosts, over the cores."""
    alone = median(records, "cpu_seconds", size=size, method="evaluation", scenario="one-host-alone")
    phase = runs(records, size=size, method="evaluation", scenario="build-phase-per-core")
    if not alone or not phase:
        return None
    return alone * size / phase[0].get("cores", 1)


@dataclass(frozen=True)
class MedianOf:
    """The median of ``key`` over the runs of ``method`` in ``scenario`` at a fleet size."""

    method: str
    scenario: str
    key: str = "seconds"

    def __call__(self, records: List[Dict], size: int) -> Optional[float]:
        return median(records, self.key, size=size, method=self.method, scenario=self.scenario)


@dataclass(frozen=True)
class Target:
    """``measured`` (divided by ``per``, when there is one) against ``limit``, judged at fleets of
    ``from_size`` hosts or more (smaller fleets are too small to judge)."""

    name: str
    measured: Quantity
    per: Optional[Quantity]
    limit: float
    from_size: int = 20
    at_least: bool = False
    digits: int = 2

    def judged(self, records: List[Dict], size: int) -> Optional[Tuple[str, str, str, bool]]:
        value = self.measured(records, size)
        if self.per is not None:
            value = ratio(value, self.per(records, size))
        if value is None:
            return None
        return (
            "%s, %d hosts" % (self.name, size),
            "%.*f" % (self.digits, value),
            "%s %.*f" % ("≥" if self.at_least else "≤", self.digits, self.limit),
            value >= self.limit if self.at_least else value <= self.limit,
        )


TARGETS = (
    Target("no-op ÷ parallel shell (b)", MedianOf("nixfleet", "noop"), MedianOf("parallel", "noop"), 1.0),
    Target("no-op ÷ floor", MedianOf("nixfleet", "noop"), MedianOf("floor", "noop"), 2.0),
    Target("cold ÷ parallel shell (b)", MedianOf("nixfleet", "cold"), MedianOf("parallel", "cold"), 1.2),
    Target(
        "times faster than sequential (a), cold",
        MedianOf("sequential", "cold"),
        MedianOf("nixfleet", "cold"),
        2.0,
        from_size=50,
        at_least=True,
    ),
    Target(
        "shared package changed ÷ parallel shell (b)",
        MedianOf("nixfleet", "shared-changed"),
        MedianOf("parallel", "shared-changed"),
        1.2,
        from_size=50,
    ),
    *(
        Target(
            "controller CPU ÷ parallel shell (b)'s, %s" % scenario,
            MedianOf("nixfleet", scenario, "cpu_seconds"),
            MedianOf("parallel", scenario, "cpu_seconds"),
            1.3,
        )
        for scenario in ("cold", "shared-changed")
    ),
    Target(
        "evaluation-heavy build phase ÷ (per-host evaluation CPU × hosts ÷ cores)",
        MedianOf("evaluation", "build-phase-per-core"),
        evaluation_floor,
        1.3,
    ),
    Target(
        "bytes sent ÷ NAR bytes needed, shared package changed",
        MedianOf("nixfleet", "shared-changed", "loopback_bytes"),
        MedianOf("nixfleet", "shared-changed", "needed_bytes"),
        1.03,
        digits=3,
    ),
    Target(
        "cache path: bytes uploaded to the cache ÷ one copy of the closures, cold",
        MedianOf("nixfleet-cache", "cold", "uploaded_bytes"),
        MedianOf("nixfleet-cache", "cold", "needed_bytes"),
        1.03,
        digits=3,
    ),
    Target(
        "evaluation-heavy build phase, flake unchanged: nix eval processes",
        MedianOf("evaluation", "build-phase-unchanged", "nix_evals"),
        None,
        0,
        digits=0,
    ),
    Target(
        "AWX slicing: derivations built, 4 slices ÷ one job",
        MedianOf("awx-slices", "cold-4-slices", "derivations_built"),
        MedianOf("awx-slices", "cold-1-slice", "derivations_built"),
        1.0,
    ),
)


def targets(records: List[Dict], sizes: Sequence[int]) -> List[Tuple[str, str, str, bool]]:
    """(target, measured, limit, met) per size and target, from the medians of this run; a target
    nothing was measured for at a size is left out."""
    rows = []
    for size in sizes:
        for target in TARGETS:
            row = target.judged(records, size) if size >= target.from_size else None
            if row is not None:
                rows.append(row)
    return rows
