# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""User and group names as a host's tools take them (``useradd``'s rule: a letter or ``_``, then
letters, digits, ``_``, ``.`` or ``-``, at most 32 characters, an optional trailing ``$``), or a
numeric id where one is allowed. Anything else (a space, ``;``, ``../``, a template) is refused
before it reaches a command line."""

from __future__ import annotations

import re

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?")
_ID = re.compile(r"[0-9]{1,10}")


def is_account_name(value: object, numeric_ok: bool = False) -> bool:
    """Is ``value`` a user or group name (or, with ``numeric_ok``, a numeric id)?"""
    if not isinstance(value, str):
        return False
    # fullmatch: a pattern's ``$`` would also match before a final newline ("root\n").
    return bool(_NAME.fullmatch(value) or (numeric_ok and _ID.fullmatch(value)))
