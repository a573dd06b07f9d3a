# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""The words of a progress line: "evaluating 12/50 hosts", "building 37/120 derivations (3 running,
45 s)", "copying to node01: 3/12 paths, 1.2/3.4 GiB". Only counters and store paths (from Nix's own
activities) go into them: never an environment variable, a command line, a key or a password."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Optional, Sequence

from ansible_collections.nixfleet.nixos.plugins.module_utils._progress.nix_log import NixLog

PREFIX = "nixfleet"  # every line starts "nixfleet: " (a reader can grep them)
FAILURE_TAIL = 10  # log lines of a failed build shown (as many as Nix shows)
_UNITS = (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))


class Phase(str, Enum):
    """A phase of the work, in the order a deploy goes through them."""

    EVALUATING = "evaluating"
    BUILDING = "building"
    COPYING = "copying"
    PUSHING = "pushing"
    ACTIVATING = "activating"
    HEALTH = "health checks"


@dataclass(frozen=True)
class Line:
    """One progress line: its phase (throttled apart) and text."""

    phase: Phase
    text: str

    def render(self) -> str:
        return "%s: %s" % (PREFIX, self.text)


def size(count: int) -> str:
    """``1.2 GiB``, ``340.0 MiB``, ``12 B``."""
    for unit, scale in _UNITS:
        if count >= scale:
            return "%.1f %s" % (count / float(scale), unit)
    return "%d B" % count


def sizes(done: int, total: int) -> str:
    """``1.2/3.4 GiB`` (both in the larger number's unit)."""
    for unit, scale in _UNITS:
        if max(done, total) >= scale:
            return "%.1f/%.1f %s" % (done / float(scale), total / float(scale), unit)
    return "%d/%d B" % (done, total)


def _elapsed(seconds: float) -> str:
    seconds = int(seconds)
    return "%d s" % seconds if seconds < 120 else "%d min %02d s" % (seconds // 60, seconds % 60)


def _name(path: Optional[str]) -> str:
    """A store path's name without its hash (``/nix/store/abc…-hello-2.12.drv`` → ``hello-2.12.drv``)."""
    if not path:
        return ""
    base = path.rsplit("/", 1)[-1]
    return base.split("-", 1)[1] if "-" in base else base


def store_name(url: str) -> str:
    """A store URL as a progress line names it: no query (keys, remote programs), no user or password."""
    base = url.split("?", 1)[0]
    scheme, sep, rest = base.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        rest = rest.split("@", 1)[1]
    return scheme + sep + rest


def evaluating(done: int, total: int, elapsed: float) -> Line:
    return Line(Phase.EVALUATING, "evaluating %d/%d hosts (%s)" % (done, total, _elapsed(elapsed)))


def building(log: NixLog, elapsed: float) -> Line:
    if not log.builds_total and not log.current:  # Nix has not said yet what it builds
        return Line(Phase.BUILDING, "building (%s)" % _elapsed(elapsed))
    text = "building %d/%d derivations (%d running" % (log.builds.done, log.builds_total, log.builds.running)
    if log.builds.failed:
        text += ", %d failed" % log.builds.failed
    text += ", %s)" % _elapsed(elapsed)
    if log.current:
        text += ": %s" % _name(log.current)
    return Line(Phase.BUILDING, text)


def copying(destination: str, log: NixLog, elapsed: float, phase: Phase = Phase.COPYING) -> Line:
    """``copying to node01: 3/12 paths, 1.2/3.4 GiB (45 s)`` (``pushing to`` a cache)."""
    total = max(log.copies.expected, log.missing or 0)
    if not total and not log.started:  # Nix has not said yet what the destination lacks
        return Line(phase, "%s to %s (%s)" % (phase.value, destination, _elapsed(elapsed)))
    text = "%s to %s: %d/%d paths" % (phase.value, destination, log.paths_copied, total)
    if log.bytes_expected:
        text += ", %s" % sizes(log.copied_bytes, log.bytes_expected)
    elif log.copied_bytes:
        text += ", %s" % size(log.copied_bytes)
    elif log.written:
        text += ", %s sent" % size(log.written)
    return Line(phase, text + " (%s)" % _elapsed(elapsed))


@dataclass(frozen=True)
class FleetCopy:
    """A task's copies to many hosts, summed."""

    hosts: int  # whose copy began
    done: int  # whose copy ended
    paths: int = 0
    paths_expected: int = 0
    bytes: int = 0
    bytes_expected: int = 0
    written: int = 0  # bytes the nix processes wrote (when Nix sends no byte counts)


def fleet_copying(copies: FleetCopy, elapsed: float, phase: Phase = Phase.COPYING) -> Line:
    """``copying to 3/14 hosts: 40/120 paths, 1.2/3.4 GiB (45 s)`` (hosts done of those copied to)."""
    text = "%s to %d/%d hosts: %d/%d paths" % (
        phase.value,
        copies.done,
        copies.hosts,
        copies.paths,
        copies.paths_expected,
    )
    if copies.bytes_expected:
        text += ", %s" % sizes(copies.bytes, copies.bytes_expected)
    elif copies.written:
        text += ", %s sent" % size(copies.written)
    return Line(phase, text + " (%s)" % _elapsed(elapsed))


def hosts_done(phase: Phase, done: int, total: int, elapsed: float, waiting: int = 0) -> Line:
    """``activating 8/50 hosts, waiting for 3 confirmations (45 s)``, ``health checks 40/50 hosts (3 s)``."""
    text = "%s %d/%d hosts" % (phase.value, done, total)
    if waiting:
        text += ", waiting for %d confirmation%s" % (waiting, "" if waiting == 1 else "s")
    return Line(phase, text + " (%s)" % _elapsed(elapsed))


def build_failed(drv: str, tail: Sequence[str]) -> Line:
    """A failed build as it fails: its derivation and last log lines."""
    lines = ["build of %s failed" % drv]
    if tail:
        lines[0] += "; last %d log lines:" % len(tail[-FAILURE_TAIL:])
        lines += ["  > %s" % line for line in tail[-FAILURE_TAIL:]]
    return Line(Phase.BUILDING, "\n".join(lines))
