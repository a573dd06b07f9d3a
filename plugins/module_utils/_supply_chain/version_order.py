# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Version order exactly as Nix's ``builtins.compareVersions`` (and ``nix-env -u``) decides it.

Read from Nix's ``compareVersions`` (``names.cc``, unchanged in its rules from 2.8 to 2.34): a
version is cut into components, each the longest run of digits or the longest run of other
characters that are neither digits nor the separators ``.`` and ``-`` (separators are skipped);
two versions are compared component by component, the missing ones of the shorter being empty.
Two components compare so:

1. both numbers (digits that fit a C ``int``): numerically (``01`` = ``1``);
2. an empty component sorts before a number (``1`` < ``1.0``);
3. ``pre`` sorts before anything but ``pre`` (``1.0pre1`` < ``1.0``);
4. a number sorts after anything else that is not a number (``2.3a`` < ``2.3.1``);
5. otherwise byte by byte (``alpha`` < ``beta``, ``a`` < ``b`` < ``rc``; an empty one first).

Digits past what a C ``int`` holds (2147483647) are not a number to Nix (its ``string2Int<int>``
fails): such a component compares as text, and so before any number.
"""

from __future__ import annotations

from typing import Iterator, List, Optional

INT_MAX = 2**31 - 1
_SEPARATORS = ".-"


def _is_digit(char: str) -> bool:
    return "0" <= char <= "9"  # C's isdigit in the C locale: ASCII digits only


def components(version: str) -> List[str]:
    """The components of ``version`` as Nix's ``nextComponent`` reads them."""
    return list(_components(version))


def _components(version: str) -> Iterator[str]:
    pos, end = 0, len(version)
    while pos < end:
        while pos < end and version[pos] in _SEPARATORS:
            pos += 1
        if pos == end:
            yield ""
            return
        start = pos
        if _is_digit(version[pos]):
            while pos < end and _is_digit(version[pos]):
                pos += 1
        else:
            while pos < end and not _is_digit(version[pos]) and version[pos] not in _SEPARATORS:
                pos += 1
        yield version[start:pos]


def _number(component: str) -> Optional[int]:
    if not component or not all(_is_digit(c) for c in component):
        return None
    value = int(component)
    return value if value <= INT_MAX else None


def _less(c1: str, c2: str) -> bool:
    """Nix's ``componentsLT``."""
    n1, n2 = _number(c1), _number(c2)
    if n1 is not None and n2 is not None:
        return n1 < n2
    if c1 == "" and n2 is not None:
        return True
    if c1 == "pre" and c2 != "pre":
        return True
    if c2 == "pre":
        return False
    if n2 is not None:
        return True
    if n1 is not None:
        return False
    return c1.encode("utf-8") < c2.encode("utf-8")  # std::string's order: unsigned bytes


def compare_versions(v1: str, v2: str) -> int:
    """-1, 0 or 1, as ``builtins.compareVersions v1 v2``."""
    left, right = components(v1), components(v2)
    for index in range(max(len(left), len(right))):
        first = left[index] if index < len(left) else ""
        second = right[index] if index < len(right) else ""
        if _less(first, second):
            return -1
        if _less(second, first):
            return 1
    return 0
