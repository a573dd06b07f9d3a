# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Closure sizes on a target, with nix-store and awk only (two processes per path)."""

from __future__ import annotations

from typing import Dict, Optional, Sequence

from ansible_collections.nixfleet.nixos.plugins.module_utils.shell import quote


def command(paths: Sequence[str]) -> str:
    """Prints ``PATH BYTES`` per path (``PATH -`` when it is not in the store)."""
    return "; ".join(
        "if [ -e {p} ]; then printf '%s %s\\n' {p} \"$({size})\"; else echo {p} -; fi".format(
            p=quote(p), size=_size_of(quote(p))) for p in paths)


def _size_of(path: str) -> str:
    return "nix-store -q --size $(nix-store -qR %s) | awk '{s += $1} END {print s + 0}'" % path


def parse(output: str) -> Dict[str, Optional[int]]:
    sizes: Dict[str, Optional[int]] = {}
    for line in output.splitlines():
        path, _sep, size = line.strip().rpartition(" ")
        if path:
            sizes[path] = int(size) if size.isdigit() else None
    return sizes
