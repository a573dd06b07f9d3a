# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Which Nix is this, and what can it do?

Debian 12 ships Nix 2.8, Debian 13 2.26, Debian unstable 2.34; users run 2.18+ and Lix. What
changed between them and matters on the controller is decided in this one place, from the version.
Changes that need no decision: ``nix show-config`` → ``nix config show`` (2.20) is met on targets,
whose version is not known, by trying the new name first; ``nix copy`` to ssh-ng needs
``--substitute-on-destination`` from 2.20 and ``builders-use-substitutes`` before, and gets both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Tuple

_VERSION_RE = re.compile(r"^nix(?:-\w+)? \((?P<impl>[^)]*)\) (?P<version>\d+(?:\.\d+)*)")


@dataclass(frozen=True)
class NixVersion:
    """A parsed ``nix --version``: implementation (``Nix`` or ``Lix``) and version numbers."""

    implementation: str
    version: Tuple[int, ...]
    text: str

    @classmethod
    def parse(cls, output: str) -> "NixVersion":
        line = (output or "").strip().splitlines()[0] if (output or "").strip() else ""
        match = _VERSION_RE.match(line)
        if not match:
            raise ValueError("cannot read a Nix version from %r" % (output,))
        impl = "Lix" if "lix" in match.group("impl").lower() else "Nix"
        numbers = tuple(int(part) for part in match.group("version").split("."))
        return cls(impl, numbers, line)

    @property
    def is_lix(self) -> bool:
        return self.implementation == "Lix"

    def at_least(self, *version: int) -> bool:
        return self.version >= tuple(version)

    @property
    def supports_flakes(self) -> bool:
        """Flakes and the ``nix`` command exist (behind experimental-features) from Nix 2.4 on."""
        return self.is_lix or self.at_least(2, 4)

    @property
    def path_info_json_format(self) -> Optional[int]:
        """The ``--json-format`` to pass to ``nix path-info --json``: 1 from Nix 2.33 (which
        deprecates ``--json`` without it), None before and on Lix (they reject the flag)."""
        return 1 if not self.is_lix and self.at_least(2, 33) else None

    def derivation_output(self, drv: str) -> str:
        """The installable for a store derivation's ``out``: ``DRV^out`` from Nix 2.13 (and every
        Lix); before, the bare ``DRV`` (which Nix < 2.15 reads as its outputs)."""
        return "%s^out" % drv if self.is_lix or self.at_least(2, 13) else drv

    @property
    def derivation_show_subcommand(self) -> Tuple[str, ...]:
        """``nix derivation show`` from Nix 2.15 (and every Lix); ``nix show-derivation`` before."""
        return ("derivation", "show") if self.is_lix or self.at_least(2, 15) else ("show-derivation",)

    def __str__(self) -> str:
        return "%s %s" % (self.implementation, ".".join(str(v) for v in self.version))
