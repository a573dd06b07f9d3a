# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Building POSIX shell command lines for targets (which may have no Python)."""

from __future__ import annotations

import shlex
from typing import Iterable


def quote(word: str) -> str:
    return shlex.quote(str(word))


def join(argv: Iterable[str]) -> str:
    """One shell-safe command line from an argv."""
    return " ".join(quote(word) for word in argv)
