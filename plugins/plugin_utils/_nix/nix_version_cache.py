# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""``nix --version`` remembered per Nix executable, so a play asks it once per installed Nix, not
once per controller process.

Knowing the version picks flags (``nix path-info --json-format`` from Nix 2.33); running
``nix --version`` before every ``nix path-info`` would add a process to every play. The answer
is kept in ``nix-version.json`` in the collection's cache directory (:func:`cache_home`), keyed by the
executable's real path, size and modification time: an upgrade of Nix, or a different ``nix`` on
``PATH``, is a new key. A cache that cannot be read or written is only a cache: the caller runs
``nix --version``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Dict, Optional


def cache_home() -> str:
    """The collection's cache directory on the controller: ``$NIXFLEET_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/nixfleet``, else ``~/.cache/nixfleet`` (the evaluation cache lives there too)."""
    if os.environ.get("NIXFLEET_CACHE_DIR"):
        return os.environ["NIXFLEET_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "nixfleet")


def cache_file() -> str:
    return os.path.join(cache_home(), "nix-version.json")


def executable_key(nix: str) -> Optional[str]:
    """What identifies the installed Nix behind ``nix`` (a name on PATH or a path), or None."""
    found = shutil.which(nix)
    if not found:
        return None
    real = os.path.realpath(found)
    try:
        st = os.stat(real)
    except OSError:
        return None
    return "%s %d %d" % (real, st.st_size, st.st_mtime_ns)


def _read() -> Dict[str, str]:
    try:
        with open(cache_file()) as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def lookup(nix: str) -> Optional[str]:
    """The remembered ``nix --version`` output of ``nix``, if any."""
    key = executable_key(nix)
    value = _read().get(key) if key else None
    return value if isinstance(value, str) else None


def remember(nix: str, version_output: str) -> None:
    key = executable_key(nix)
    if not key:
        return
    data = _read()
    data[key] = version_output
    path = cache_file()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".nix-version.")
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
        os.replace(tmp, path)
    except OSError:
        pass
