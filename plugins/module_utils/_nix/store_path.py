# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Nix store paths: validation and parts."""

from __future__ import annotations

import re
from dataclasses import dataclass

STORE_DIR = "/nix/store"
# Nix's base-32 alphabet omits e, o, u and t.
_HASH = "[0-9abcdfghijklmnpqrsvwxyz]{32}"
_NAME = r"[A-Za-z0-9+\-._?=][A-Za-z0-9+\-._?=]*"
_STORE_PATH_RE = re.compile(r"^(?P<dir>/.+)/(?P<hash>%s)-(?P<name>%s)$" % (_HASH, _NAME))


@dataclass(frozen=True)
class StorePath:
    """A top-level store path such as ``/nix/store/<hash>-nixos-system-web-01-24.05``."""

    path: str

    def __post_init__(self) -> None:
        match = _STORE_PATH_RE.fullmatch(self.path or "")
        if not match or match.group("dir") != STORE_DIR:
            raise ValueError("not a Nix store path: %r" % (self.path,))

    @property
    def name(self) -> str:
        return self.path[len(STORE_DIR) + 34 :]

    def __str__(self) -> str:
        return self.path


def store_path_option(value: str, option: str) -> str:
    """``value`` of the task option ``option``, if it is a top-level store path (else an error naming it)."""
    try:
        return StorePath(value).path
    except ValueError as exc:
        raise ValueError("%s: %s" % (option, exc))
