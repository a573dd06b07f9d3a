# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""An approved-inputs policy for a flake, checked on its lock graph (``flake.lock`` version 7).

The lock file is a graph: ``nodes.root.inputs`` maps input names either to a node key (an input
locked on its own) or to a list, a ``follows`` path from the root. The rules:

* ``nixpkgs``: the top-level nixpkgs input must come from one of the allowed sources (flake refs,
  ``*`` globs allowed, e.g. ``github:NixOS/nixpkgs/nixos-24.05``);
* ``follows``: every input that has a nixpkgs input of its own must follow the top-level one;
* ``path``: no ``path:`` inputs, nor inputs locked to no revision (dirty or unlocked);
* ``age``: no input locked longer ago than ``max_age_days``.

Each violation names the input by its path in the graph (``lib/nixpkgs``).
"""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple, Union

CASE_INSENSITIVE = ("github", "gitlab", "sourcehut")


class LockError(ValueError):
    """Not a flake lock graph this checker understands."""


@dataclass(frozen=True)
class Policy:
    allowed_nixpkgs: Tuple[str, ...] = ()
    nixpkgs_input: str = "nixpkgs"
    require_follows: bool = True
    forbid_path_inputs: bool = True
    max_age_days: Optional[int] = None


@dataclass(frozen=True)
class Violation:
    rule: str
    input: str
    message: str

    def to_dict(self) -> Dict[str, str]:
        return {"rule": self.rule, "input": self.input, "message": self.message}


def source_ref(spec: Dict[str, Any]) -> str:
    """A flake ref for an ``original`` (or ``locked``) entry of a lock node."""
    kind = spec.get("type")
    if kind in CASE_INSENSITIVE:
        ref = "%s:%s/%s" % (kind, spec.get("owner"), spec.get("repo"))
        rest = spec.get("ref") or spec.get("rev")
        return ref + ("/%s" % rest if rest else "")
    if kind == "git":
        url = spec.get("url", "")
        return "git+%s" % url + ("?ref=%s" % spec["ref"] if spec.get("ref") else "")
    if kind == "path":
        return "path:%s" % spec.get("path")
    if kind == "indirect":
        return "flake:%s" % spec.get("id") + ("/%s" % spec["ref"] if spec.get("ref") else "")
    if kind in ("tarball", "file"):
        return spec.get("url", "")
    return "%s:%s" % (kind, spec.get("url") or spec.get("path") or "?")


def matches(ref: str, patterns: Tuple[str, ...]) -> bool:
    for pattern in patterns:
        case_free = pattern.split(":", 1)[0] in CASE_INSENSITIVE
        if fnmatch.fnmatchcase(ref.lower() if case_free else ref, pattern.lower() if case_free else pattern):
            return True
    return False


class LockGraph:
    def __init__(self, lock: Dict[str, Any]) -> None:
        if not isinstance(lock, dict) or not isinstance(lock.get("nodes"), dict):
            raise LockError("not a flake lock file (no 'nodes')")
        self.nodes: Dict[str, Dict[str, Any]] = lock["nodes"]
        self.root = lock.get("root", "root")
        if self.root not in self.nodes:
            raise LockError("the lock file has no root node %r" % self.root)

    def resolve(self, target: Union[str, List[str]]) -> Optional[str]:
        """The node key an input points at (a key, or a follows path from the root)."""
        if isinstance(target, str):
            return target
        key: Optional[str] = self.root
        for name in target:
            inputs = self.nodes.get(key or "", {}).get("inputs", {})
            if name not in inputs:
                return None
            key = self.resolve(inputs[name])
        return key

    def walk(self) -> List[Tuple[str, str, Union[str, List[str]]]]:
        """``(input path, node key, how it is referenced)`` for every input, breadth first, once per node
        (followed inputs are listed where they are declared, not descended into)."""
        out = []
        queue: List[Tuple[str, str]] = [("", self.root)]
        seen = {self.root}
        while queue:
            prefix, key = queue.pop(0)
            for name, target in sorted(self.nodes[key].get("inputs", {}).items()):
                path = "%s/%s" % (prefix, name) if prefix else name
                node = self.resolve(target)
                out.append((path, node or "", target))
                if isinstance(target, str) and node in self.nodes and node not in seen:
                    seen.add(node)
                    queue.append((path, node))
        return out


def check(lock: Dict[str, Any], policy: Policy, now: Optional[float] = None) -> List[Violation]:
    graph = LockGraph(lock)
    now = time.time() if now is None else now
    violations: List[Violation] = []
    top = graph.nodes[graph.root].get("inputs", {}).get(policy.nixpkgs_input)
    top_key = graph.resolve(top) if top is not None else None
    if policy.allowed_nixpkgs:
        if top_key is None:
            violations.append(
                Violation(
                    "nixpkgs", policy.nixpkgs_input, "the flake has no top-level '%s' input" % policy.nixpkgs_input
                )
            )
        else:
            ref = source_ref(graph.nodes[top_key].get("original", {}))
            if not matches(ref, policy.allowed_nixpkgs):
                violations.append(
                    Violation(
                        "nixpkgs",
                        policy.nixpkgs_input,
                        "%s comes from %s, which is not an "
                        "allowed source (%s)" % (policy.nixpkgs_input, ref, ", ".join(policy.allowed_nixpkgs)),
                    )
                )
    for path, key, target in graph.walk():
        node = graph.nodes.get(key, {})
        depth = path.count("/")
        name = path.rsplit("/", 1)[-1]
        if policy.require_follows and depth > 0 and name == policy.nixpkgs_input and key != top_key:
            owner = path.rsplit("/", 1)[0]
            how = (
                "locks its own (%s)" % source_ref(node.get("original", {}))
                if isinstance(target, str)
                else "follows %s" % "/".join(target)
            )
            violations.append(
                Violation(
                    "follows",
                    path,
                    "%s does not follow the top-level %s: it %s; add "
                    'inputs.%s.inputs.%s.follows = "%s"'
                    % (
                        path,
                        policy.nixpkgs_input,
                        how,
                        owner.replace("/", ".inputs."),
                        policy.nixpkgs_input,
                        policy.nixpkgs_input,
                    ),
                )
            )
        if not isinstance(target, str):
            continue  # a followed input is checked where it is declared
        locked = node.get("locked", {})
        if policy.forbid_path_inputs:
            if locked.get("type") == "path" or node.get("original", {}).get("type") == "path":
                violations.append(
                    Violation(
                        "path",
                        path,
                        "%s is a path input (%s): it is whatever that directory "
                        "holds on the machine that evaluates; use a git or github input"
                        % (path, source_ref(node.get("original", locked))),
                    )
                )
            elif locked.get("type") in ("git", "github", "gitlab", "sourcehut", "mercurial") and not locked.get("rev"):
                violations.append(Violation("path", path, "%s is not locked to a revision (dirty or unlocked)" % path))
        modified = locked.get("lastModified")
        if policy.max_age_days is not None and isinstance(modified, int):
            age = (now - modified) / 86400.0
            if age > policy.max_age_days:
                violations.append(
                    Violation(
                        "age",
                        path,
                        "%s was locked %d days ago (%s), more than %d; run nix flake "
                        "update"
                        % (path, int(age), time.strftime("%Y-%m-%d", time.gmtime(modified)), policy.max_age_days),
                    )
                )
    return violations
