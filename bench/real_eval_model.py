"""The pure parts of the real-evaluation benchmark (bench/real_eval.py): the previous engine's
partition of hosts ("today's chunking"), the floor and the targets, the cost per added host, and the
memory model that says at which size today's chunking still fits the machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, TypeVar

T = TypeVar("T")
MIB = 2**20
# The real fixture's host kinds, in the order its scale_hosts(n) cycles them.
KINDS = ("web", "db", "app")
# The previous engine (before the evaluation pool): at least this many hosts in each nix eval.
OLD_HOSTS_PER_PROCESS = 4
# The wall-time target: at most this factor over the floor (per-host evaluation CPU / cores).
WALL_FACTOR = 1.3


def old_partition(hosts: Sequence[T], workers: int) -> List[List[T]]:
    """Today's chunking, the previous engine's ``evaluation_chunks``: ``hosts`` in order over
    ``min(workers, len // 4)`` processes (at least one) of ``ceil(len / count)`` hosts each, all
    evaluated at once."""
    count = max(1, min(workers, len(hosts) // OLD_HOSTS_PER_PROCESS))
    size = -(-len(hosts) // count) if hosts else 1
    return [list(hosts[i : i + size]) for i in range(0, len(hosts), size)]


def floor_seconds(kinds: Sequence[str], cpu_alone: Mapping[str, float], cores: int) -> float:
    """The floor of an evaluation of hosts of ``kinds`` (one entry per host): the sum of each host's
    evaluation CPU alone (its kind's), divided by the cores."""
    return sum(cpu_alone[kind] for kind in kinds) / max(1, cores)


@dataclass(frozen=True)
class Target:
    """One row of the targets table."""

    what: str  # "inventory" or "build"
    hosts: int
    peak_mib: float
    budget_mib: float
    wall_s: float
    floor_s: float

    @property
    def wall_limit_s(self) -> float:
        return WALL_FACTOR * self.floor_s

    @property
    def memory_met(self) -> bool:
        return self.peak_mib <= self.budget_mib

    @property
    def wall_met(self) -> bool:
        return self.wall_s <= self.wall_limit_s

    def to_dict(self) -> Dict:
        return {
            "what": self.what,
            "hosts": self.hosts,
            "peak_mib": round(self.peak_mib),
            "budget_mib": round(self.budget_mib),
            "memory_met": self.memory_met,
            "wall_s": round(self.wall_s, 1),
            "floor_s": round(self.floor_s, 1),
            "wall_limit_s": round(self.wall_limit_s, 1),
            "wall_met": self.wall_met,
        }


def per_added_host(small: int, large: int, at_small: float, at_large: float) -> float:
    """What one more host costs between two sizes: the slope of the two measurements."""
    if large == small:
        raise ValueError("two different sizes are needed, not %d twice" % small)
    return (at_large - at_small) / (large - small)


@dataclass(frozen=True)
class MemoryModel:
    """A ``nix eval`` of some hosts peaks at ``base`` plus each host's ``marginal`` (by kind): nothing
    is freed while the flake's outputs hold every configuration."""

    base: float
    marginal: Dict[str, float]

    @classmethod
    def from_alone_and_together(cls, alone: Mapping[str, float], together: float) -> "MemoryModel":
        """From each kind's peak alone (``base + m_k``) and the peak of one process of one host of
        every kind (``base + sum m_k``): ``base = (sum alone - together) / (kinds - 1)``."""
        if len(alone) < 2:
            raise ValueError("the model needs at least two kinds")
        base = (sum(alone.values()) - together) / (len(alone) - 1)
        return cls(base, {kind: peak - base for kind, peak in alone.items()})

    def process(self, kinds: Sequence[str]) -> float:
        return self.base + sum(self.marginal[kind] for kind in kinds)

    def old_chunking(self, kinds: Sequence[str], workers: int) -> float:
        """The summed peak of today's chunking of hosts of ``kinds`` (its processes run at once)."""
        return sum(self.process(chunk) for chunk in old_partition(kinds, workers))


def old_fit_size(
    model: MemoryModel, kinds_of: "KindsOf", workers: int, limit: float, largest: int = 400
) -> Optional[int]:
    """The largest host count (up to ``largest``) whose today's chunking the model keeps within
    ``limit`` (bytes, summed over its processes), or None when not even one host fits."""
    fits = None
    for count in range(1, largest + 1):
        if model.old_chunking(kinds_of(count), workers) <= limit:
            fits = count
    return fits


class KindsOf:
    """The kinds of the first ``n`` hosts of the real fixture's scale flake: web, db, app, cycling."""

    def __init__(self, cycle: Sequence[str] = ("web", "db", "app")) -> None:
        self.cycle = tuple(cycle)

    def __call__(self, count: int) -> List[str]:
        return [self.cycle[i % len(self.cycle)] for i in range(count)]
