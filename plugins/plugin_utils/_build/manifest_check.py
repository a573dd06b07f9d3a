# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""A pre-built deploy's systems, from its manifest (``module_utils._flakes.deploy_manifest``) instead of an
evaluation and a build, checked on the controller against the cache before anything changes:

* the manifest names only hosts of the inventory (else the whole deploy is refused);
* each host's path is in the cache, is a NixOS toplevel (``bin/switch-to-configuration``), and its
  whole closure is signed by one of the trusted keys (``nix store verify``: Nix's own check);
* a host that fails a check is failed with the reason; the others go on.

Calls: one ``nix path-info`` and one ``nix store verify`` for every host together (a verify per
path only when that one fails, to say whose closure is unsigned), one ``nix store ls`` per system.
"""

from __future__ import annotations

from typing import Dict, List, Sequence

from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes import deploy_manifest as dm
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError, nix_error_text
from ansible_collections.nixfleet.nixos.plugins.module_utils._caches.nix_conf import NixConfError, validate_store_url
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.controller_files import read_text
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.system_build import BuildReport

SWITCH = "bin/switch-to-configuration"


def load(path: str) -> dm.Manifest:
    try:
        return dm.parse(read_text(path, "manifest"), "manifest %s" % path)
    except dm.ManifestError as exc:
        raise NixError("%s; nothing was deployed" % exc)


def systems(
    nix: NixCli,
    manifest: dm.Manifest,
    manifest_file: str,
    hosts: Sequence[str],
    inventory_hosts: Sequence[str],
    cache: str,
    trusted_public_keys: Sequence[str],
) -> BuildReport:
    """The systems of ``hosts`` (the play's) from ``manifest``, checked against ``cache``; a
    ``NixError`` (nothing deployed anywhere) when the manifest itself cannot be used, as when it names
    a host the inventory (``inventory_hosts``) does not have."""
    unknown = sorted(set(manifest.hosts) - set(inventory_hosts))
    if unknown:
        raise NixError(
            "manifest %s names hosts that are not in the inventory: %s; nothing was deployed "
            "(build the manifest from the same inventory)" % (manifest_file, ", ".join(unknown))
        )
    if not trusted_public_keys:
        raise NixError(
            "a manifest deploy needs the public keys its systems must be signed with "
            "(nixos_deploy_manifest_trusted_keys / trusted_public_keys); nothing was deployed"
        )
    try:
        validate_store_url(cache, "the manifest's cache")
    except NixConfError as exc:
        raise NixError("%s; nothing was deployed" % exc)
    report = BuildReport()
    wanted = {h: manifest.hosts[h] for h in hosts if h in manifest.hosts}
    for host in hosts:
        if host not in wanted:
            report.failed[host] = "%s is not in manifest %s" % (host, manifest_file)
    paths = sorted({e.path for e in wanted.values()})
    if not paths:
        return report
    report.nix_calls.append("path-info")
    infos = nix.path_info(paths, store=cache, fresh_narinfo=True)
    report.nix_calls.append("store verify")
    unsigned = (
        {}
        if nix.verify_signatures(paths, cache, trusted_public_keys).ok
        else _unsigned(nix, paths, cache, trusted_public_keys, report.nix_calls)
    )
    for host, entry in sorted(wanted.items()):
        reason = _refusal(nix, entry.path, cache, infos, unsigned, report.nix_calls)
        if reason:
            report.failed[host] = "manifest entry %s of %s refused: %s" % (entry.path, host, reason)
            continue
        report.paths[host] = entry.path
        if entry.drv_path:
            report.drv_paths[host] = entry.drv_path
    return report


def _unsigned(nix: NixCli, paths: List[str], cache: str, keys: Sequence[str], calls: List[str]) -> Dict[str, str]:
    """``{path: what Nix said}`` for the paths whose closure is not wholly in the cache and signed by
    ``keys``: one verify each."""
    found = {}
    for path in paths:
        calls.append("store verify")
        verified = nix.verify_signatures([path], cache, keys)
        if not verified.ok:
            found[path] = nix_error_text(verified.stderr) or "exit code %d" % verified.rc
    return found


def _refusal(nix: NixCli, path: str, cache: str, infos: Dict, unsigned: Dict[str, str], calls: List[str]) -> str:
    if infos.get(path) is None:
        return "it is not in the cache %s" % cache
    if path in unsigned:
        return "its closure is not signed by any of the trusted keys (or not wholly in the cache): %s" % unsigned[path]
    calls.append("store ls")
    if not nix.store_has("%s/%s" % (path, SWITCH), cache):
        return "it is not a NixOS system (no %s)" % SWITCH
    return ""
