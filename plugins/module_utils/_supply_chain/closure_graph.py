# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""The reference graph of store paths (who references whom), and why a path is in a closure.

Read from ``nix-store --query --graph ROOTS`` (the same dot text from Nix 2.8 to 2.34: one
``"HASH-NAME" [label = …];`` line per path, one ``"REFERENCE" -> "REFERRER" [color = …];`` line per
reference), from ``nix path-info --recursive --json`` (each path's ``references``), or from a
CycloneDX SBOM's ``dependencies`` (module_utils._reports.sbom writes them from the store's references).
``chain`` is the shortest reference chain from a root to a path, found breadth-first (references
in sorted order, so the same graph always gives the same chain): what ``nix why-depends`` answers,
without needing it (Nix 2.8's lacks ``--json``).
"""

from __future__ import annotations

import collections
import functools
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain.package_spec import (
    PackageSpec,
    StorePackage,
    store_package,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain.version_order import compare_versions

_QUOTED = r'"([^"\\]+)"'
_EDGE = re.compile(r"^%s -> %s" % (_QUOTED, _QUOTED))
_NODE = re.compile(r"^%s \[label" % _QUOTED)


@dataclass
class ClosureGraph:
    """``references``: every store path read → the paths it references (itself left out)."""

    references: Dict[str, List[str]] = field(default_factory=dict)

    def add(self, path: str, references: Iterable[str] = ()) -> None:
        refs = self.references.setdefault(path, [])
        for ref in references:
            if ref != path and ref not in refs:
                refs.append(ref)

    def closure(self, root: str) -> List[str]:
        """``root`` and every path it references, directly or not (breadth-first order)."""
        return list(self._parents(root))

    def _parents(self, root: str) -> Dict[str, Optional[str]]:
        """Breadth-first from ``root``: each reachable path → the path that first led to it."""
        parents: Dict[str, Optional[str]] = collections.OrderedDict()
        if root not in self.references:
            return parents
        parents[root] = None
        queue = collections.deque([root])
        while queue:
            path = queue.popleft()
            for ref in sorted(self.references.get(path, ())):
                if ref not in parents:
                    parents[ref] = path
                    queue.append(ref)
        return parents

    def chains(self, root: str, targets: Sequence[str]) -> Dict[str, List[str]]:
        """The shortest chain ``[root, …, target]`` to each target in the closure of ``root`` (one walk)."""
        parents = self._parents(root)
        found = {}
        for target in targets:
            if target not in parents:
                continue
            chain: List[str] = []
            node: Optional[str] = target
            while node is not None:
                chain.append(node)
                node = parents[node]
            found[target] = list(reversed(chain))
        return found

    def chain(self, root: str, target: str) -> Optional[List[str]]:
        return self.chains(root, [target]).get(target)

    def packages(self, root: str, name: str) -> List[StorePackage]:
        """The store paths of package ``name`` in the closure of ``root`` (by version, then output)."""
        matching = [p for p in (store_package(path) for path in self.closure(root)) if p.name == name]
        return sorted(matching, key=functools.cmp_to_key(_by_version))


def _by_version(a: StorePackage, b: StorePackage) -> int:
    """Nix's version order, then the ``out`` output before the others, then the path."""

    def rest(p: StorePackage):
        return (p.output != "out", p.output, p.path)

    return compare_versions(a.version, b.version) or (rest(a) > rest(b)) - (rest(a) < rest(b))


@dataclass(frozen=True)
class Match:
    """A path of the package in a system's closure, and the chain that pulls it in."""

    package: StorePackage
    chain: List[str]

    def to_dict(self) -> Dict[str, Any]:
        return {
            "path": self.package.path,
            "name": self.package.name,
            "version": self.package.version,
            "output": self.package.output,
            "chain": list(self.chain),
        }


def find(graph: ClosureGraph, root: str, spec: PackageSpec) -> List[Match]:
    """Every path of ``spec.name`` in the closure of ``root`` whose version ``spec`` means, with why it is there."""
    wanted = [p for p in graph.packages(root, spec.name) if spec.matches_version(p.version)]
    chains = graph.chains(root, [p.path for p in wanted])
    return [Match(p, chains[p.path]) for p in wanted]


def parse_dot(output: str, store_dir: str = "/nix/store") -> ClosureGraph:
    """``nix-store --query --graph`` output → the graph (names are basenames there)."""
    graph = ClosureGraph()
    prefix = store_dir.rstrip("/") + "/"
    for line in output.splitlines():
        line = line.strip()
        edge = _EDGE.match(line)
        if edge:
            reference, referrer = prefix + edge.group(1), prefix + edge.group(2)
            graph.add(reference)
            graph.add(referrer, [reference])
            continue
        node = _NODE.match(line)
        if node:
            graph.add(prefix + node.group(1))
    return graph


def from_path_info(infos: Mapping[str, Optional[Mapping[str, Any]]]) -> ClosureGraph:
    """``nix path-info --recursive --json`` (as ``nix_argv.parse_path_info`` reads it) → the graph."""
    graph = ClosureGraph()
    for path, info in infos.items():
        graph.add(path, (info or {}).get("references") or ())
    return graph


def from_sbom(bom: Mapping[str, Any]) -> ClosureGraph:
    """A CycloneDX SBOM of a closure (module_utils._reports.sbom) → the graph of its dependencies."""
    graph = ClosureGraph()
    root = ((bom.get("metadata") or {}).get("component") or {}).get("bom-ref")
    if isinstance(root, str):
        graph.add(root)
    for component in bom.get("components") or []:
        if isinstance(component, Mapping) and isinstance(component.get("bom-ref"), str):
            graph.add(component["bom-ref"])
    for dependency in bom.get("dependencies") or []:
        if isinstance(dependency, Mapping) and isinstance(dependency.get("ref"), str):
            graph.add(dependency["ref"], [r for r in dependency.get("dependsOn") or [] if isinstance(r, str)])
    return graph


def roots_of(paths: Iterable[Optional[str]]) -> List[str]:
    """The distinct paths, in the order given (None left out)."""
    distinct: List[str] = []
    for path in paths:
        if path and path not in distinct:
            distinct.append(path)
    return distinct
