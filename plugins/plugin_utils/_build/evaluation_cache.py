# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Remembered evaluations: a host's ``drvPath``/``outPath`` for a flake that has not changed.

Evaluating a real NixOS configuration costs seconds of CPU and hundreds of MB; a redeploy of an
unchanged flake would pay it again only to learn the systems are the ones already deployed. So the
build remembers what each ``<flake>#<attr>`` evaluated to, keyed like the inventory cache:

- the flake's identity: a *locked* ref is its own identity (``?rev=``, ``?narHash=``, a
  ``path:/nix/store/…`` copy, a ``github:owner/repo/<commit>``: what they name cannot change, and
  their ``flake.lock`` comes with them); an unlocked local ref (``path:``, ``git+file:``) is the
  content fingerprint of its directory (:mod:`flake_fingerprint`: a new commit, a dirty tree, an
  edited file or ``flake.lock`` is a new key); an unlocked remote ref has none and is never cached;
- the Nix executable (its path, size and modification time), ``NIX_CONFIG`` and every extra
  ``nix`` argument;
- never when the arguments make the evaluation depend on more than the flake (``--impure``,
  ``--override-input`` and the other input flags).

An entry only says what the evaluation *was*; the caller still asks the store whether the system
exists, and re-evaluates a host whose system must be built (its derivation may have been collected).
Entries live in ``evaluations/`` of the collection's cache directory (``$NIXFLEET_CACHE_DIR``, else
``$XDG_CACHE_HOME/nixfleet``, else ``~/.cache/nixfleet``), one JSON file per flake identity, the newest :data:`KEEP_FILES` kept;
or, where jobs run in fresh containers (AWX), in an Ansible cache plugin's store that they share
(:class:`AnsibleCacheStore`: ``jsonfile`` on a shared volume, ``redis``, …). A cache that cannot be
read or written is only a cache: the caller evaluates.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from typing import Any, Dict, Mapping, Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes.flake_ref import split_ref
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_argv import INPUT_FLAGS, NixSettings
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.flake_fingerprint import fingerprint
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_version_cache import cache_home, executable_key

KEEP_FILES = 64
# Arguments after which an evaluation may read more than the flake: the environment, other inputs.
UNCACHEABLE_ARGS = ("--impure", "--no-eval-cache") + INPUT_FLAGS
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_FORGES = ("github", "gitlab", "sourcehut")


def cache_dir() -> str:
    return os.path.join(cache_home(), "evaluations")


def is_locked(ref: str) -> bool:
    """``ref`` names content that cannot change (so it identifies its evaluation by itself)."""
    scheme, location, query = split_ref(ref)
    if query.get("rev") or query.get("narHash"):
        return True
    if scheme == "path":
        return location.startswith("/nix/store/") and "/../" not in location
    if scheme in _FORGES:
        parts = location.strip("/").split("/")
        return len(parts) >= 3 and bool(_COMMIT.match(parts[2]))
    return False


def flake_identity(ref: str) -> Optional[str]:
    """What the evaluation of ``ref`` depends on, or None when it cannot be known without Nix."""
    if is_locked(ref):
        return "locked:" + ref
    content = fingerprint(ref)
    return "%s %s" % (ref, content) if content else None


def entry_key(ref: str, settings: NixSettings, env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The cache file's key for evaluations of ``ref`` with ``settings`` (``env``: what the nix
    processes get on top of this process's environment); None: not cacheable."""
    if any(arg in UNCACHEABLE_ARGS for arg in settings.extra_args):
        return None
    identity = flake_identity(ref)
    nix = executable_key(settings.nix)
    if identity is None or nix is None:
        return None
    environment = dict(os.environ)
    environment.update(env or {})
    material = json.dumps([identity, nix, environment.get("NIX_CONFIG", ""), list(settings.extra_args)])
    return hashlib.sha256(material.encode()).hexdigest()


def _is_entry(value: object) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("drvPath"), str)
        and isinstance(value.get("path"), str)
        and value["drvPath"].endswith(".drv")
    )


class AnsibleCacheStore:
    """Entries in an Ansible cache plugin's store (``plugin``: e.g. ``ansible.builtin.jsonfile`` with
    ``connection`` a directory every job can reach, or a redis URL), as the inventory's cache does:
    what AWX jobs, each in a fresh container, share. ``timeout`` seconds (0: entries never expire;
    a key changes with the flake anyway)."""

    def __init__(
        self, plugin: str, connection: Optional[str], prefix: str = "nixfleet_evaluations_", timeout: int = 0
    ) -> None:
        from ansible.plugins.loader import cache_loader  # only where Ansible runs this

        self.name = plugin
        self._cache = cache_loader.get(plugin, _uri=connection, _prefix=prefix, _timeout=timeout)
        if self._cache is None:
            raise ValueError("eval_cache_plugin %r: no such cache plugin" % plugin)

    def read(self, key: str) -> Any:
        try:
            return self._cache.get(key) if self._cache.contains(key) else None
        except Exception:  # a cache backend that fails is only a cache (redis away, a bad file)
            return None

    def write(self, key: str, value: Dict[str, Dict[str, str]]) -> None:
        try:
            self._cache.set(key, value)
        except Exception:
            pass


def _entries(data: Any) -> Dict[str, Dict[str, str]]:
    if not isinstance(data, dict):
        return {}
    return {attr: {"drvPath": v["drvPath"], "path": v["path"]} for attr, v in data.items() if _is_entry(v)}


def load(key: str, shared: Optional[AnsibleCacheStore] = None) -> Dict[str, Dict[str, str]]:
    """``{attr: {"drvPath", "path"}}`` remembered under ``key`` (empty when none or unreadable), in
    ``shared`` or else the local cache directory."""
    if shared is not None:
        return _entries(shared.read(key))
    try:
        with open(os.path.join(cache_dir(), key + ".json")) as handle:
            return _entries(json.load(handle))
    except (OSError, ValueError):
        return {}


def store(key: str, evaluations: Mapping[str, Mapping[str, str]], shared: Optional[AnsibleCacheStore] = None) -> None:
    """Remember ``evaluations`` (``{attr: {"drvPath", "path"}}``) under ``key``, beside what is there."""
    merged = load(key, shared)
    merged.update(_entries(dict(evaluations)))
    if shared is not None:
        shared.write(key, merged)
        return
    directory = cache_dir()
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".evaluation.")
        with os.fdopen(fd, "w") as handle:
            json.dump(merged, handle)
        os.replace(tmp, os.path.join(directory, key + ".json"))
        _prune(directory)
    except OSError:
        pass


def _prune(directory: str) -> None:
    files = [os.path.join(directory, n) for n in os.listdir(directory) if n.endswith(".json")]
    files.sort(key=lambda p: os.stat(p).st_mtime_ns, reverse=True)
    for old in files[KEEP_FILES:]:
        try:
            os.unlink(old)
        except OSError:
            pass
