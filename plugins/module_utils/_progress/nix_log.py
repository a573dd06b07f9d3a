# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Nix's ``--log-format internal-json`` log, read into what a build or copy has done so far.

Nix (2.8 to 2.34 alike) prints one ``@nix {json}`` line per log event on stderr:

* ``start`` of an activity (``id``, ``type`` - an ``ActivityType`` -, ``text``, ``fields``), ``stop``;
* ``result`` of an activity (``type`` - a ``ResultType`` -, ``fields``): ``PROGRESS`` ``[done, expected,
  running, failed]`` (of builds for ``BUILDS``, of paths for ``COPY_PATHS``, of bytes for ``COPY_PATH``),
  ``SET_EXPECTED`` ``[activity type, count]``, ``BUILD_LOG_LINE`` ``[line]``, ``SET_PHASE`` ``[phase]``;
* ``msg``: what Nix would print without the JSON (its warnings and errors, ``level`` 0 an error).

``NixLog`` keeps the counts (derivations built of expected, running, failed; paths and bytes copied
of expected), the current derivation, each build's last log lines, and the log as Nix prints it by
default (``text``: error messages are matched on it; a failed build's error gets its last log lines,
as Nix prints them without the JSON). Lines that are not Nix's own (ssh, a wrapper) are kept as they are.
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Deque, Dict, List, Optional, Sequence

PREFIX = "@nix "
LOG_FORMAT = "internal-json"
LVL_ERROR = 0
LVL_INFO = 3
LOG_TAIL = 10  # log lines kept per build (as many as Nix shows of a failed build)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_COUNT = re.compile(r"^copying (\d+) paths")
_ANNOUNCED = re.compile(r"^(?:these (\d+) derivations|(this) derivation) will be built")
_DRV = re.compile(r"/nix/store/[0-9a-z]{32}-[^'\s\"]+\.drv")


class ActivityType(IntEnum):
    UNKNOWN = 0
    COPY_PATH = 100
    FILE_TRANSFER = 101
    REALISE = 102
    COPY_PATHS = 103
    BUILDS = 104
    BUILD = 105
    OPTIMISE_STORE = 106
    VERIFY_PATHS = 107
    SUBSTITUTE = 108
    QUERY_PATH_INFO = 109
    POST_BUILD_HOOK = 110
    BUILD_WAITING = 111


class ResultType(IntEnum):
    FILE_LINKED = 100
    BUILD_LOG_LINE = 101
    UNTRUSTED_PATH = 102
    CORRUPTED_PATH = 103
    SET_PHASE = 104
    PROGRESS = 105
    SET_EXPECTED = 106
    POST_BUILD_LOG_LINE = 107


class Action:
    """The ``action`` of an ``@nix`` line."""

    START = "start"
    STOP = "stop"
    RESULT = "result"
    MSG = "msg"


@dataclass(frozen=True)
class Event:
    """One ``@nix`` line."""

    action: str
    id: Optional[int] = None
    type: Optional[int] = None
    level: Optional[int] = None
    text: str = ""
    fields: Sequence[Any] = ()


def clean(text: Any) -> str:
    """Nix's text without its colours."""
    return _ANSI.sub("", str(text or ""))


def parse_line(line: str) -> Optional[Event]:
    """The event of an ``@nix {json}`` line; None for any other line (ssh, a wrapper, broken JSON)."""
    if not line.startswith(PREFIX):
        return None
    try:
        data = json.loads(line[len(PREFIX) :])
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("action"), str):
        return None
    fields = data.get("fields")
    ident, kind, level = data.get("id"), data.get("type"), data.get("level")
    return Event(
        action=data["action"],
        id=ident if isinstance(ident, int) else None,
        type=kind if isinstance(kind, int) else None,
        level=level if isinstance(level, int) else None,
        text=clean(data.get("msg") if data["action"] == Action.MSG else data.get("text")),
        fields=tuple(fields) if isinstance(fields, list) else (),
    )


def _is_json_event(line: str) -> bool:
    """An ``@nix`` line whose JSON is valid but no event (dropped, as Nix's own)."""
    try:
        return line.startswith(PREFIX) and json.loads(line[len(PREFIX) :]) is not None
    except ValueError:
        return False


def _ints(fields: Sequence[Any], count: int) -> Optional[List[int]]:
    values = list(fields[:count])
    if len(values) < count or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return None
    return values


@dataclass
class Counts:
    """``done`` of ``expected``, ``running`` and ``failed`` now (a ``PROGRESS`` result)."""

    done: int = 0
    expected: int = 0
    running: int = 0
    failed: int = 0


@dataclass
class Build:
    """One derivation's build (a ``BUILD`` activity)."""

    drv: str
    tail: Deque[str] = field(default_factory=lambda: deque(maxlen=LOG_TAIL))
    phase: Optional[str] = None
    stopped: bool = False
    failed: bool = False


@dataclass
class CopiedPath:
    """One path's transfer (a ``COPY_PATH`` activity): bytes sent of those expected, when Nix says."""

    path: str
    done: int = 0
    expected: int = 0
    stopped: bool = False


@dataclass
class NixLog:
    """What a ``nix build`` or ``nix copy`` said so far (feed it every stderr line, in order)."""

    builds: Counts = field(default_factory=Counts)
    copies: Counts = field(default_factory=Counts)  # paths copied (or substituted) of those expected
    expected_bytes: int = 0  # of the paths to copy, when Nix says (SET_EXPECTED of COPY_PATH)
    announced: Optional[int] = None  # derivations Nix 2.26+ said it will build ("these N derivations ...")
    missing: Optional[int] = None  # paths a ``nix copy`` said the target lacked ("copying N paths")
    text: List[str] = field(default_factory=list)  # the log as Nix prints it without JSON
    written: Optional[int] = (
        None  # bytes the nix process wrote, as its reader measured them (Nix 2.8 sends no byte counts)
    )
    failures: List[Build] = field(default_factory=list)  # failed builds, as they failed
    _builds: Dict[int, Build] = field(default_factory=dict)
    _paths: Dict[int, CopiedPath] = field(default_factory=dict)
    _order: List[int] = field(default_factory=list)  # build activities, latest event last
    _kinds: Dict[int, int] = field(default_factory=dict)  # activity id -> ActivityType (BUILDS, COPY_PATHS)
    _finished: List[str] = field(default_factory=list)  # paths sent completely, in order

    def feed(self, line: str) -> List[Build]:
        """Read one stderr line; returns the builds that failed with it (usually none)."""
        line = line.rstrip("\n")
        event = parse_line(line)
        if event is None:
            if line.strip() and not _is_json_event(line):
                self.text.append(line)
            return []
        if event.action == Action.MSG:
            self._msg(event)
        elif event.action == Action.START and event.id is not None:
            self._start(event)
        elif event.action == Action.STOP:
            self._stop(event)
        elif event.action == Action.RESULT and event.id is not None:
            return self._result(event)
        return []

    def _msg(self, event: Event) -> None:
        lines = event.text.splitlines() or [""]
        announced = _ANNOUNCED.match(event.text)
        if announced:
            self.announced = (self.announced or 0) + int(announced.group(1) or 1)
        if event.level == LVL_ERROR:
            drv = _DRV.search(event.text)
            build = next((b for b in self._builds.values() if drv and b.drv == drv.group(0)), None)
            if build is not None and build.tail and "log lines" not in event.text.lower():
                if len(lines) == 1:  # Nix 2.8-2.26: "builder for '…' failed with exit code 3;"
                    lines[-1] += ";"
                lines.append("       %s %d log lines:" % ("last" if len(lines) == 1 else "Last", len(build.tail)))
                lines += ["       > %s" % tail for tail in build.tail]
        self.text.extend(lines)

    def _start(self, event: Event) -> None:
        ident, fields = event.id, event.fields
        if ident is None:  # (a start always has an id: _feed_event reads only those)
            return
        if event.type == ActivityType.BUILD and fields and isinstance(fields[0], str):
            self._builds[ident] = Build(fields[0])
            self._touch(ident)
        elif event.type == ActivityType.COPY_PATH and fields and isinstance(fields[0], str):
            self._paths[ident] = CopiedPath(fields[0])
        elif event.type in (ActivityType.BUILDS, ActivityType.COPY_PATHS):
            self._kinds[ident] = event.type
        if event.type == ActivityType.COPY_PATHS:
            count = _COUNT.match(event.text)
            if count:
                self.missing = int(count.group(1))
                self.copies.expected = max(self.copies.expected, self.missing)
        if event.text and event.level is not None and event.level <= LVL_INFO:
            self.text.append(event.text + "...")

    def _stop(self, event: Event) -> None:
        if event.id in self._builds:
            self._builds[event.id].stopped = True
        if event.id in self._paths and not self._paths[event.id].stopped:
            copied = self._paths[event.id]
            copied.stopped = True
            self._finished.append(copied.path)
            copied.done = max(copied.done, copied.expected)

    def _result(self, event: Event) -> List[Build]:
        ident = event.id
        if ident is None:  # (a result always has an id: _feed_event reads only those)
            return []
        if event.type in (ResultType.BUILD_LOG_LINE, ResultType.POST_BUILD_LOG_LINE) and ident in self._builds:
            if event.fields and isinstance(event.fields[0], str):
                self._builds[ident].tail.append(clean(event.fields[0]))
                self._touch(ident)
        elif event.type == ResultType.SET_PHASE and ident in self._builds and event.fields:
            self._builds[ident].phase = str(event.fields[0])
        elif event.type == ResultType.SET_EXPECTED:
            values = _ints(event.fields, 2)
            if values and values[0] == ActivityType.COPY_PATH:
                self.expected_bytes = max(self.expected_bytes, values[1])
        elif event.type == ResultType.PROGRESS:
            return self._progress(ident, event.fields)
        return []

    def _progress(self, ident: int, fields: Sequence[Any]) -> List[Build]:
        values = _ints(fields, 4) or (_ints(fields, 2) or []) + [0, 0]
        if len(values) < 4:
            return []
        if ident in self._paths:
            self._paths[ident].done, self._paths[ident].expected = values[0], values[1]
            return []
        kind = self._kinds.get(ident)
        if kind == ActivityType.BUILDS:
            failed = values[3] - self.builds.failed
            self.builds = Counts(*values)
            return self._failed(failed)
        if kind == ActivityType.COPY_PATHS:
            self.copies = Counts(values[0], max(values[1], self.missing or 0), values[2], values[3])
        return []

    def _failed(self, count: int) -> List[Build]:
        """``count`` more builds failed: the open builds with the latest events (Nix 2.34 stops a failed
        build at once, 2.8-2.26 only at the end; the failure's message comes at the end with --keep-going)."""
        open_builds = [
            self._builds[i] for i in reversed(self._order) if not self._builds[i].failed and not self._builds[i].stopped
        ]
        failed = open_builds[: max(0, count)]
        for build in failed:
            build.failed = True
        self.failures += failed
        return failed

    def _touch(self, ident: int) -> None:
        if ident in self._order:
            self._order.remove(ident)
        self._order.append(ident)

    @property
    def builds_total(self) -> int:
        """Derivations to build: as announced (Nix 2.34's own count briefly runs one ahead when a build
        ends), else Nix's count; never fewer than those done, running and failed (2.8 drops a failed one)."""
        total = self.announced if self.announced is not None else self.builds.expected
        return max(total, self.builds.done + self.builds.running + self.builds.failed)

    @property
    def current(self) -> Optional[str]:
        """The derivation that printed last among those being built."""
        for ident in reversed(self._order):
            build = self._builds[ident]
            if not build.stopped and not build.failed:
                return build.drv
        return None

    @property
    def paths_copied(self) -> int:
        """Paths copied (Nix 2.8 sends no progress of a copy: its paths' ends are counted)."""
        return max(self.copies.done, len(self._finished))

    @property
    def copied_bytes(self) -> int:
        return sum(p.done for p in self._paths.values())

    @property
    def bytes_expected(self) -> int:
        return max(self.expected_bytes, sum(p.expected for p in self._paths.values()))

    @property
    def started(self) -> List[str]:
        """Paths whose transfer began, in order."""
        return [p.path for p in self._paths.values()]

    @property
    def finished(self) -> List[str]:
        """Paths sent completely, in order."""
        return list(self._finished)

    @property
    def in_flight(self) -> List[str]:
        return [p.path for p in self._paths.values() if not p.stopped]

    @property
    def stderr(self) -> str:
        return "".join(line + "\n" for line in self.text)
