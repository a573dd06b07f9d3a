# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Which versions of a package a host has in its running system, its booted one and each kept
generation, and why each is there.

``scan_command`` is the one remote command per host: the generations probe (``generations``) and
then ``nix-store --query --graph`` of every system the host has (running, booted, each generation
of the profile), whose dot text gives the whole reference graph (``closure_graph``). ``exposure``
reads a package out of it per system; an SBOM (module_utils._reports.sbom) can stand in for the host.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain.closure_graph import (
    ClosureGraph,
    Match,
    find,
    parse_dot,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generations import (
    BOOTED_SYSTEM,
    RUNNING_SYSTEM,
    ProfileState,
    parse_probe,
    probe_command,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_argv import graph_argv
from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain.package_spec import PackageSpec
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command, raw, sequence
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.store_path import STORE_DIR

GRAPH_MARK = "exposure\tgraph"
RUNNING, BOOTED = "running", "booted"


def scan_command(profile: str) -> Command:
    """The profile's generations, the running and booted systems, then the reference graph of all
    of them (paths that do not exist are left out; no system at all: no graph)."""
    graph = raw(
        "printf 'exposure\\tgraph\\n'; set --; "
        'for l in @{running} @{booted} @{p}-*-link; do if [ -e "$l" ]; then set -- "$@" "$l"; fi; done; '
        'if [ $# -gt 0 ]; then @{graph} "$@"; fi',
        running=RUNNING_SYSTEM,
        booted=BOOTED_SYSTEM,
        p=profile,
        graph=graph_argv([]),
    )
    return sequence([probe_command(profile, nix_version=False), graph])


def parse_scan(profile: str, output: str) -> Tuple[ProfileState, ClosureGraph]:
    head, sep, dot = output.partition(GRAPH_MARK + "\n")
    if not sep:
        raise ValueError("the exposure scan printed no graph (%r)" % output[-200:])
    return parse_probe(profile, head), parse_dot(dot, STORE_DIR)


@dataclass
class SystemExposure:
    """One system of a host (a store path), in every role it has there."""

    path: str
    running: bool = False
    booted: bool = False
    generations: List[int] = field(default_factory=list)
    current_generation: Optional[int] = None  # the profile's current one (the next boot's system)
    sbom: bool = False  # read from an SBOM, not the host
    versions: List[str] = field(default_factory=list)  # every version of the package in it
    matches: List[Match] = field(default_factory=list)

    @property
    def roles(self) -> List[str]:
        roles = [RUNNING] if self.running else []
        roles += [BOOTED] if self.booted else []
        roles += [
            "generation %d%s" % (g, " (current)" if g == self.current_generation else "") for g in self.generations
        ]
        return roles + (["sbom"] if self.sbom else [])

    def to_dict(self) -> Dict[str, Any]:
        return {
            "path": self.path,
            "roles": self.roles,
            "running": self.running,
            "booted": self.booted,
            "generations": list(self.generations),
            "current": self.current_generation is not None,
            "versions": list(self.versions),
            "exposed": bool(self.matches),
            "matches": [m.to_dict() for m in self.matches],
        }


@dataclass
class HostExposure:
    host: str
    spec: PackageSpec
    source: str  # "host" (the scan) or "sbom"
    systems: List[SystemExposure] = field(default_factory=list)
    error: str = ""

    def exposed_in(self, role: str) -> bool:
        """Does the ``running`` (or ``booted``) system have a match?"""
        return any(s.matches for s in self.systems if (s.running if role == RUNNING else s.booted))

    @property
    def exposed_generations(self) -> List[int]:
        return sorted(g for s in self.systems if s.matches for g in s.generations)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "host": self.host,
            "package": self.spec.name,
            "constraint": self.spec.constraint,
            "source": self.source,
            "error": self.error,
            "running_exposed": self.exposed_in(RUNNING),
            "booted_exposed": self.exposed_in(BOOTED),
            "exposed_generations": self.exposed_generations,
            "exposed": any(s.matches for s in self.systems),
            "systems": [s.to_dict() for s in self.systems],
        }


def systems_of(state: ProfileState) -> List[SystemExposure]:
    """The host's systems: the running one, the booted one, then the generations newest first; a
    path in several roles is one system."""
    systems: Dict[str, SystemExposure] = {}

    def entry(path: str) -> SystemExposure:
        return systems.setdefault(path, SystemExposure(path))

    if state.running_system:
        entry(state.running_system).running = True
    if state.booted_system:
        entry(state.booted_system).booted = True
    for generation in sorted(state.generations, key=lambda g: -g.number):
        system = entry(generation.path)
        system.generations.insert(0, generation.number)
        if generation.current:
            system.current_generation = generation.number
    return list(systems.values())


def exposure(
    host: str, spec: PackageSpec, systems: List[SystemExposure], graph: ClosureGraph, source: str = "host"
) -> HostExposure:
    """The package in each of ``systems`` (versions, and each match with its chain)."""
    for system in systems:
        system.versions = _distinct(p.version for p in graph.packages(system.path, spec.name))
        system.matches = find(graph, system.path, spec)
    return HostExposure(host, spec, source, systems)


def from_sbom(host: str, spec: PackageSpec, bom: Dict[str, Any], graph: ClosureGraph) -> HostExposure:
    root: Optional[str] = ((bom.get("metadata") or {}).get("component") or {}).get("bom-ref")
    if not isinstance(root, str) or root not in graph.references:
        raise ValueError("the SBOM of %s names no system (metadata.component.bom-ref)" % host)
    return exposure(host, spec, [SystemExposure(root, sbom=True)], graph, source="sbom")


def _distinct(values) -> List[str]:
    seen: List[str] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen
