# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""The manifest of a pre-built deploy: which system each host gets, written by ``build.yml`` (CI,
where the flake is evaluated, built, signed and pushed to a cache) and read by ``deploy.yml -e
nixos_deploy_manifest=FILE`` (evaluates and builds nothing: the hosts realise their systems from
the cache, signatures checked).

The file is JSON::

    {"format": "nixfleet-manifest", "version": 1, "flake": LOCKED REF, "rev": REV or null,
     "cache": URL or null, "hosts": {HOST: {"path": TOPLEVEL, "drv_path": DRV or null}}}

``render`` writes it (keys sorted, no time stamp: the same build writes the same file); ``parse``
reads it back and refuses anything malformed, naming the entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.store_path import store_path_option

FORMAT = "nixfleet-manifest"
VERSION = 1


class ManifestError(ValueError):
    """A manifest that cannot be deployed (the message names the file and the entry)."""


@dataclass(frozen=True)
class Entry:
    path: str
    drv_path: Optional[str] = None


@dataclass
class Manifest:
    flake: str = ""
    rev: Optional[str] = None
    cache: Optional[str] = None
    hosts: Dict[str, Entry] = field(default_factory=dict)

    def render(self) -> str:
        return (
            json.dumps(
                {
                    "format": FORMAT,
                    "version": VERSION,
                    "flake": self.flake,
                    "rev": self.rev,
                    "cache": self.cache,
                    "hosts": {h: {"path": e.path, "drv_path": e.drv_path} for h, e in sorted(self.hosts.items())},
                },
                indent=2,
                sort_keys=True,
            )
            + "\n"
        )


def _optional_str(data: Dict[str, Any], key: str, where: str) -> Optional[str]:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ManifestError("%s: %s must be a string" % (where, key))
    return value


def parse(text: str, where: str = "the manifest") -> Manifest:
    """A manifest read from ``text``; ``ManifestError`` says what is wrong and where."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ManifestError("%s is not JSON: %s" % (where, exc))
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ManifestError('%s is not a nixfleet manifest (no "format": %r)' % (where, FORMAT))
    if data.get("version") != VERSION:
        raise ManifestError(
            "%s has version %r; this collection reads version %d" % (where, data.get("version"), VERSION)
        )
    hosts = data.get("hosts")
    if not isinstance(hosts, dict) or not hosts:
        raise ManifestError("%s lists no hosts" % where)
    manifest = Manifest(
        flake=_optional_str(data, "flake", where) or "",
        rev=_optional_str(data, "rev", where),
        cache=_optional_str(data, "cache", where),
    )
    for host, entry in hosts.items():
        label = "%s, host %s" % (where, host)
        if not isinstance(entry, dict):
            raise ManifestError("%s: the entry must be an object with a path" % label)
        try:
            path = store_path_option(str(entry.get("path") or ""), "path")
            drv = entry.get("drv_path")
            drv = store_path_option(drv, "drv_path") if drv is not None else None
        except (TypeError, ValueError) as exc:
            raise ManifestError("%s: %s" % (label, exc))
        if drv is not None and not drv.endswith(".drv"):
            raise ManifestError("%s: drv_path %s is not a derivation" % (label, drv))
        manifest.hosts[host] = Entry(path, drv)
    return manifest
