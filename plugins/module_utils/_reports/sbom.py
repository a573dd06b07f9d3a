# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""A CycloneDX 1.6 SBOM of a system closure, from ``nix path-info --recursive --json``.

One component per store path: name and version split as Nix names packages (``parseDrvName``: the
version starts at the first ``-`` followed by a digit), ``purl`` ``pkg:nix/NAME@VERSION``, the NAR
hash as SHA-256, the store path, NAR size and deriver as properties, and where its derivation fetched
its sources (``externalReferences`` of type ``source-distribution``, with the fetched hash); the
dependency graph from the store's references; the system itself as the BOM's subject, with the flake ref and revision it
was built from.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any, Dict, List, Optional, Sequence
from urllib.parse import quote

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.profile_env import package_of

SPEC_VERSION = "1.6"
NIX32 = "0123456789abcdfghijklmnpqrsvwxyz"  # Nix's base-32 alphabet (no e, o, u, t)


class SbomError(ValueError):
    """The closure's path-info cannot make an SBOM."""


def nix32_decode(text: str) -> bytes:
    """Nix's base-32 (least significant bits first, last character first) to bytes."""
    size = len(text) * 5 // 8
    out = bytearray(size)
    for n, char in enumerate(reversed(text)):
        digit = NIX32.find(char)
        if digit < 0:
            raise SbomError("%r is not Nix base-32" % text)
        bit = n * 5
        i, j = bit // 8, bit % 8
        if i < size:
            out[i] |= (digit << j) & 0xFF
        if i + 1 < size:
            out[i + 1] |= digit >> (8 - j)
        elif digit >> (8 - j):
            raise SbomError("%r is not a valid Nix base-32 hash" % text)
    return bytes(out)


def sha256_hex(nar_hash: str) -> str:
    """``sha256-BASE64`` (SRI) or ``sha256:BASE32|HEX`` → 64 hex digits."""
    if nar_hash.startswith("sha256-"):
        raw = base64.b64decode(nar_hash[len("sha256-") :])
    elif nar_hash.startswith("sha256:"):
        value = nar_hash[len("sha256:") :]
        raw = binascii.unhexlify(value) if len(value) == 64 else nix32_decode(value)
    else:
        raise SbomError("unsupported NAR hash %r (want sha256)" % nar_hash)
    if len(raw) != 32:
        raise SbomError("NAR hash %r is not 32 bytes" % nar_hash)
    return raw.hex()


def purl(name: str, version: str) -> str:
    return "pkg:nix/%s%s" % (quote(name, safe=""), "@" + quote(version, safe="") if version else "")


def component(path: str, info: Dict[str, Any], kind: str = "library", sources: Sequence[Any] = ()) -> Dict[str, Any]:
    package = package_of(path)
    entry: Dict[str, Any] = {"type": kind, "bom-ref": path, "name": package.name}
    if package.version:
        entry["version"] = package.version
    entry["purl"] = purl(package.name, package.version)
    if info.get("narHash"):
        entry["hashes"] = [{"alg": "SHA-256", "content": sha256_hex(info["narHash"])}]
    properties = [{"name": "nix:store_path", "value": path}]
    if info.get("narSize") is not None:
        properties.append({"name": "nix:nar_size", "value": str(info["narSize"])})
    if info.get("deriver"):
        properties.append({"name": "nix:deriver", "value": info["deriver"]})
    entry["properties"] = properties
    references = []
    for source in sources:  # derivation_sources.Source: where the derivation fetched its sources
        for url in source.urls:
            reference: Dict[str, Any] = {"type": "source-distribution", "url": url}
            if source.sha256:
                reference["hashes"] = [{"alg": "SHA-256", "content": source.sha256}]
            references.append(reference)
    if references:
        entry["externalReferences"] = references
    return entry


def sbom(
    system: str,
    infos: Dict[str, Optional[Dict[str, Any]]],
    host: str,
    flake: Optional[str] = None,
    rev: Optional[str] = None,
    tool_version: str = "0.1.0",
    timestamp: Optional[str] = None,
    serial: Optional[str] = None,
    sources: Optional[Dict[str, Sequence[Any]]] = None,
) -> Dict[str, Any]:
    """The BOM of ``system``'s closure (``infos``: path-info of every path in it; ``sources``: by
    store path, what its derivation fetched, see ``derivation_sources``)."""
    sources = sources or {}
    missing = sorted(p for p, i in infos.items() if i is None)
    if system not in infos or missing:
        raise SbomError(
            "the closure of %s is not complete in the store read: %s" % (system, ", ".join(missing[:5]) or system)
        )
    subject = component(system, infos[system] or {}, kind="operating-system", sources=sources.get(system, ()))
    subject["properties"].append({"name": "nixfleet:host", "value": host})
    for name, value in (("nixfleet:flake", flake), ("nixfleet:flake_rev", rev)):
        if value:
            subject["properties"].append({"name": name, "value": value})
    others = [component(p, infos[p] or {}, sources=sources.get(p, ())) for p in sorted(infos) if p != system]
    dependencies = [
        {"ref": p, "dependsOn": sorted(r for r in (infos[p] or {}).get("references") or [] if r != p)}
        for p in sorted(infos)
    ]
    metadata: Dict[str, Any] = {
        "tools": {
            "components": [
                {"type": "application", "group": "nixfleet", "name": "nixfleet.nixos", "version": tool_version}
            ]
        },
        "component": subject,
    }
    if timestamp:
        metadata["timestamp"] = timestamp
    return {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "version": 1,
        "serialNumber": serial or "urn:uuid:%s" % uuid.uuid4(),
        "metadata": metadata,
        "components": others,
        "dependencies": dependencies,
    }


def same_bom(a: Dict[str, Any], b: Dict[str, Any]) -> bool:
    """Equal but for when and under which serial number they were made."""

    def content(bom: Dict[str, Any]) -> Dict[str, Any]:
        meta = {k: v for k, v in (bom.get("metadata") or {}).items() if k != "timestamp"}
        return dict({k: v for k, v in bom.items() if k not in ("serialNumber", "metadata")}, metadata=meta)

    return content(a) == content(b)


def component_paths(bom: Dict[str, Any]) -> List[str]:
    return [bom["metadata"]["component"]["bom-ref"]] + [c["bom-ref"] for c in bom.get("components", [])]
