"""Which Nix evaluates the real nixpkgs of ../shared/nixpkgs (it needs 2.18 or newer): the controller's
own ``nix`` when it is new enough (Debian 13: 2.26, unstable: 2.34), else the one
``NIXFLEET_REAL_NIX`` names (for example tests/fixtures/real-flake/nix-2.18, a Debian 13 root's Nix
run from a Debian 12 machine), else none (Debian 12's 2.8: its tests prove the clear error)."""

import functools
import os
import re
import shutil
import subprocess
from typing import Optional, Tuple

MINIMUM = (2, 18)


def version_of(nix: str) -> Tuple[int, ...]:
    out = subprocess.run([nix, "--version"], stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    found = re.search(r"(\d+)\.(\d+)", out)
    assert found, out
    return tuple(int(n) for n in found.groups())


@functools.lru_cache(maxsize=None)
def real_nix() -> Optional[str]:
    """The nix executable to evaluate the real nixpkgs with, or None."""
    own = shutil.which("nix")
    if own and version_of(own) >= MINIMUM:
        return own
    named = os.environ.get("NIXFLEET_REAL_NIX")
    if named and version_of(named) >= MINIMUM:
        return named
    return None


def real_nix_reason() -> str:
    own = shutil.which("nix")
    have = ".".join(map(str, version_of(own))) if own else "none"
    if real_nix():
        return "the controller's Nix evaluates the real nixpkgs (%s)" % real_nix()
    return (
        "the controller's Nix is %s and the real nixpkgs needs 2.18 or newer (the Debian 13 and unstable "
        "legs run those tests; NIXFLEET_REAL_NIX may name such a nix here)" % have
    )
