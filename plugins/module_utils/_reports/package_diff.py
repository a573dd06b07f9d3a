# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""What changed between two closures, package by package, from ``nix store diff-closures``.

Nix (2.4 to 2.34 alike) prints one line per package name whose versions or size changed:
``NAME: OLD → NEW, +12.3 KiB``, where each side is a comma-separated list of versions, ``∅`` for
none (added or removed) and ``ε`` for an empty version; the size part appears when the closure's
share of that package changed by 8 KiB or more, or alone when only the size changed. Nix colours
the size with ANSI codes even when its output is not a terminal, and 2.34 prints a growth without
its ``+`` (``19.8 KiB``; a shrink keeps its ``-``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Tuple

ANSI = re.compile(r"\x1b\[[0-9;]*m")
ARROW = " → "
NONE = "∅"
EMPTY = "ε"
SIZE = re.compile(r"(?:^|, )(?P<sign>[+-]?)(?P<value>\d+(?:\.\d+)?) KiB$")


@dataclass(frozen=True)
class PackageChange:
    name: str
    before: Tuple[str, ...]  # versions ("" for a package without one); () when it was not there
    after: Tuple[str, ...]
    size_delta: Optional[int] = None  # bytes, when Nix printed it

    @property
    def kind(self) -> str:
        if not self.before and self.after:
            return "added"
        if self.before and not self.after:
            return "removed"
        return "changed" if self.before != self.after else "size"

    def describe(self) -> str:
        """``openssl 3.0.13 → 3.0.14 (+1.2 KiB)``, ``+ jq 1.7``, ``- libfoo 0.5``."""
        size = " (%s)" % human_delta(self.size_delta) if self.size_delta is not None else ""
        if self.kind == "added":
            return "+ %s %s%s" % (self.name, _versions(self.after), size)
        if self.kind == "removed":
            return "- %s %s%s" % (self.name, _versions(self.before), size)
        if self.kind == "size":
            return "%s%s" % (self.name, size)
        return "%s %s%s%s%s" % (self.name, _versions(self.before), ARROW, _versions(self.after), size)

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data.update(before=list(self.before), after=list(self.after), kind=self.kind)
        return data


def _versions(versions: Tuple[str, ...]) -> str:
    return ", ".join(v or EMPTY for v in versions)


def human_delta(size: int) -> str:
    return "%s%.1f KiB" % ("+" if size >= 0 else "-", abs(size) / 1024.0)


def _side(text: str) -> Tuple[str, ...]:
    text = text.strip()
    if text == NONE:
        return ()
    return tuple("" if v == EMPTY else v for v in text.split(", "))


def parse_diff_closures(output: str) -> List[PackageChange]:
    """The changes ``nix store diff-closures`` printed (lines it does not recognise are left out)."""
    changes = []
    for raw in ANSI.sub("", output or "").splitlines():
        line = raw.strip()
        name, sep, rest = line.partition(": ")
        if not sep or not name:
            continue
        size = None
        match = SIZE.search(rest)
        if match:
            size = int(round(float(match.group("value")) * 1024)) * (-1 if match.group("sign") == "-" else 1)
            rest = rest[: match.start()]
        if ARROW in rest:
            before, _arrow, after = rest.partition(ARROW)
            changes.append(PackageChange(name, _side(before), _side(after), size))
        elif not rest and size is not None:
            changes.append(PackageChange(name, (), (), size))
    return changes


def without_colours(output: str) -> str:
    return ANSI.sub("", output or "")
