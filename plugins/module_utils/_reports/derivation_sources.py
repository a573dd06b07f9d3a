# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Where a package's sources came from, as its derivation says (for the SBOM).

``nix derivation show --recursive`` (``nix show-derivation`` before Nix 2.15) prints every
derivation of a build graph. A package's sources are its fixed-output input derivations that name
where they fetch from: nixpkgs' ``fetchurl`` puts ``urls`` (space-separated) in the environment,
``fetchgit`` and others ``url``; the fixed output's hash is what was fetched. Three shapes are read:
Nix 2.8 (``{drv: {inputDrvs: {drv: [outputs]}, env, outputs}}``), 2.18–2.32 (``inputDrvs`` values
are objects) and 2.33+ (``{"derivations": {basename: {inputs: {drvs: …}, …}}, "version": 4}``).
Licences are not in derivations (nixpkgs keeps ``meta`` out of them), so they are not reported.
"""

from __future__ import annotations

import binascii
import json
import posixpath
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._reports.sbom import SbomError, sha256_hex


@dataclass(frozen=True)
class Derivation:
    inputs: Tuple[str, ...]  # input derivations (full store paths)
    env: Dict[str, str]
    fixed_hash: Optional[str]  # the fixed output's hash as Nix gives it (fixed-output derivations only)


@dataclass(frozen=True)
class Source:
    """One fetched source: its URLs (mirrors) and the SHA-256 of what was fetched, when known."""

    urls: Tuple[str, ...]
    sha256: Optional[str] = None


def _full(path: str, store_dir: str) -> str:
    return path if path.startswith("/") else posixpath.join(store_dir, path)


def parse_derivations(output: str, store_dir: str = "/nix/store") -> Dict[str, Derivation]:
    """``{drv path: Derivation}`` from what ``nix derivation show --recursive`` printed."""
    data = json.loads(output or "{}")
    if not isinstance(data, dict):
        raise ValueError("nix derivation show printed %r, not an object" % (output[:200],))
    if isinstance(data.get("derivations"), dict):
        data = data["derivations"]
    result = {}
    for drv, info in data.items():
        if not isinstance(info, dict):
            raise ValueError("nix derivation show: %r is not a derivation" % (drv,))
        inputs = (info.get("inputs") or {}).get("drvs") if "inputs" in info else info.get("inputDrvs")
        out = (info.get("outputs") or {}).get("out") or {}
        env = info.get("env") or {}
        fixed = out.get("hash") or None
        if fixed and out.get("hashAlgo") and ":" not in fixed and "-" not in fixed:
            fixed = "%s:%s" % (out["hashAlgo"].split(":")[-1], fixed)
        result[_full(drv, store_dir)] = Derivation(
            inputs=tuple(sorted(_full(i, store_dir) for i in (inputs or {}))),
            env={k: str(v) for k, v in env.items()},
            fixed_hash=fixed,
        )
    return result


def _sha256(derivation: Derivation) -> Optional[str]:
    """The hex SHA-256 of a fixed output (Nix writes hex, base-32 or SRI), if it is SHA-256."""
    value = derivation.fixed_hash or derivation.env.get("outputHash") or ""
    algo = derivation.env.get("outputHashAlgo", "")
    if value and not value.startswith(("sha256-", "sha256:")) and algo.split(":")[-1] == "sha256":
        value = "sha256:" + value
    try:
        return sha256_hex(value) if value else None
    except (SbomError, binascii.Error, ValueError):  # another algorithm
        return None


def _urls(env: Dict[str, str]) -> Tuple[str, ...]:
    words = (env.get("urls") or env.get("url") or "").split()
    return tuple(dict.fromkeys(w for w in words if "://" in w))


def sources_of(drv: str, derivations: Dict[str, Derivation]) -> List[Source]:
    """The sources ``drv`` fetched: its fixed-output inputs that name URLs."""
    found = []
    for name in (derivations.get(drv) or Derivation((), {}, None)).inputs:
        source = derivations.get(name)
        if source is None or not (source.fixed_hash or source.env.get("outputHash")):
            continue
        urls = _urls(source.env)
        if urls:
            found.append(Source(urls=urls, sha256=_sha256(source)))
    return found


def sources_by_path(
    infos: Dict[str, Optional[Dict[str, Any]]], derivations: Dict[str, Derivation]
) -> Dict[str, List[Source]]:
    """``{store path: sources}`` for the closure's paths whose deriver is among ``derivations``."""
    result = {}
    for path, info in infos.items():
        deriver = (info or {}).get("deriver")
        if deriver and deriver in derivations:
            sources = sources_of(deriver, derivations)
            if sources:
                result[path] = sources
    return result
