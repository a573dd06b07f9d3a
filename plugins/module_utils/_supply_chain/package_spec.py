# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""A package and the versions of it that are meant: ``openssl``, ``openssl<3.0.14``,
``openssl >=3.0, <3.0.14``, ``linux==6.6.1``.

The name is a package name as Nix splits store path names (``profile_env.package_of``: the name
ends where the version starts), compared exactly. The constraint is clauses joined by commas, all of
which must hold; each is an operator (``<``, ``<=``, ``>``, ``>=``, ``==`` or ``=``, ``!=``) and a
version, compared in Nix's version order (``version_order``). No clause: every version. A store path
of one of a package's outputs (``openssl-3.0.13-bin``) has the version without the output's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.profile_env import package_of
from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain.version_order import compare_versions

OPERATORS = ("<=", ">=", "==", "!=", "<", ">", "=")
# The outputs nixpkgs names most (``outputs = [ "out" "bin" "dev" … ]``): the store path of output
# ``bin`` of openssl-3.0.13 is ``…-openssl-3.0.13-bin``.
OUTPUT_NAMES = ("bin", "dev", "lib", "out", "man", "doc", "devdoc", "info", "debug", "static")
# Names and versions are parts of store path names: those characters only (``=`` is an operator here).
_NAME = re.compile(r"^\s*(?P<name>[A-Za-z0-9+\-._?]+)\s*(?P<rest>.*?)\s*$", re.S)
_CLAUSE = re.compile(r"^\s*(?P<op><=|>=|==|!=|<|>|=)\s*(?P<version>[A-Za-z0-9+\-._?]+)\s*$")
MAX_LENGTH = 256


class SpecError(ValueError):
    """A package or version constraint this module cannot read."""


@dataclass(frozen=True)
class Clause:
    op: str
    version: str

    def holds(self, version: str) -> bool:
        order = compare_versions(version, self.version)
        return {
            "<": order < 0,
            "<=": order <= 0,
            ">": order > 0,
            ">=": order >= 0,
            "==": order == 0,
            "=": order == 0,
            "!=": order != 0,
        }[self.op]

    def __str__(self) -> str:
        return "%s%s" % (self.op, self.version)


@dataclass(frozen=True)
class PackageSpec:
    name: str
    clauses: Tuple[Clause, ...] = ()

    def matches_version(self, version: str) -> bool:
        return all(c.holds(version) for c in self.clauses)

    @property
    def constraint(self) -> str:
        """``>=3.0,<3.0.14`` ('' for every version)."""
        return ",".join(str(c) for c in self.clauses)

    def __str__(self) -> str:
        return self.name + (" " + self.constraint if self.clauses else "")


@dataclass(frozen=True)
class StorePackage:
    """What a store path is, as a package: ``/nix/store/…-openssl-3.0.13-bin`` → openssl, 3.0.13, bin."""

    path: str
    name: str
    version: str
    output: str = "out"


def store_package(path: str) -> StorePackage:
    """A store path as a package; a derivation (``…-openssl-3.0.13.drv``) as the package it builds."""
    package = package_of(path[: -len(".drv")] if path.endswith(".drv") else path)
    version, output = split_output(package.version)
    return StorePackage(path, package.name, version, output)


def split_output(version: str) -> Tuple[str, str]:
    """``3.0.13-bin`` → (``3.0.13``, ``bin``); a version without an output's name → (it, ``out``)."""
    head, sep, last = version.rpartition("-")
    if sep and head and last in OUTPUT_NAMES:
        return head, last
    return version, "out"


def _checked_text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise SpecError("%s must be a string, not %s" % (what, type(value).__name__))
    if len(value) > MAX_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise SpecError("%s %r: at most %d characters, no control characters" % (what, value[:80], MAX_LENGTH))
    return value


def parse_constraint(text: Optional[str], what: str = "version") -> Tuple[Clause, ...]:
    """``>=3.0, <3.0.14`` → its clauses ('' or None: none)."""
    if text is None:
        return ()
    text = _checked_text(text, what)
    if not text.strip():
        return ()
    clauses = []
    for part in text.split(","):
        match = _CLAUSE.match(part)
        if not match:
            raise SpecError(
                "%s %r: each clause is an operator (%s) and a version, e.g. <3.0.14 or >=3.0,<3.0.14"
                % (what, text, " ".join(OPERATORS))
            )
        clauses.append(Clause(match.group("op"), match.group("version")))
    return tuple(clauses)


def parse_spec(text: str, what: str = "package") -> PackageSpec:
    """``openssl<3.0.14`` / ``openssl >=3.0,<3.0.14`` / ``openssl``."""
    text = _checked_text(text, what)
    match = _NAME.match(text)
    if not match:
        raise SpecError(
            "%s %r: give a package name, optionally with a version constraint (openssl<3.0.14)" % (what, text)
        )
    try:
        clauses = parse_constraint(match.group("rest"), what)
    except SpecError:
        raise SpecError(
            "%s %r: after the name, a version constraint - each clause is an operator (%s) and a version, "
            "e.g. openssl<3.0.14 or openssl >=3.0,<3.0.14" % (what, text, " ".join(OPERATORS))
        )
    return PackageSpec(match.group("name"), clauses)


def spec_of(name: str, version: Optional[str] = None, what: str = "package") -> PackageSpec:
    """A package given as a name and a separate constraint (the name alone may carry none)."""
    spec = parse_spec(name, what)
    if version is not None and version.strip():
        if spec.clauses:
            raise SpecError("%s %r already has a version constraint; give it in one place" % (what, name))
        spec = PackageSpec(spec.name, parse_constraint(version, "%s version" % what))
    return spec
