# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Building POSIX shell command lines for targets (which may have no Python), and reading the
``key<TAB>value`` lines they print back."""

from __future__ import annotations

import shlex
from typing import Iterable, Optional


def quote(word: str) -> str:
    return shlex.quote(str(word))


def join(argv: Iterable[str]) -> str:
    """One shell-safe command line from an argv."""
    return " ".join(quote(word) for word in argv)


def probe_field(output: str, key: str) -> Optional[str]:
    """The value of the first ``key<TAB>value`` line in ``output`` (None when there is none or it is
    empty): the format of every probe and state line our target commands print."""
    for line in output.splitlines():
        name, sep, value = line.partition("\t")
        if sep and name == key:
            return value.strip() or None
    return None
