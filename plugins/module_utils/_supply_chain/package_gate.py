# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""The deploy gate: package versions a deploy refuses to ship, and the exceptions that let a known
one through until a date.

A deny rule is a package with a version constraint (``package_spec``: ``openssl<3.0.14``), given
as that text or as ``{name, version, id, reason}``; an allow rule is ``{name, version, expires:
YYYY-MM-DD, reason, hosts}`` (``hosts``: the hosts it covers, none = all), valid through its
expiry date (UTC). A JSON file holds ``{"deny": [...], "allow": [...]}`` (or a list of deny rules):
the shape a vulnerability feed is exported to. ``check`` finds every denied version in a system's
closure, with the chain that pulls it in, and sorts each into refused or allowed by exception.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain.closure_graph import (
    ClosureGraph,
    Match,
    find,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain.exposure_report import why
from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain.package_spec import PackageSpec, spec_of

MAX_TEXT = 512


class PolicyError(ValueError):
    """A deny or allow rule this module cannot read."""


@dataclass(frozen=True)
class DenyRule:
    spec: PackageSpec
    id: str = ""
    reason: str = ""

    def describe(self) -> str:
        said = ", ".join(t for t in (self.id, self.reason) if t)
        return "%s%s" % (self.spec, " (%s)" % said if said else "")


@dataclass(frozen=True)
class AllowRule:
    spec: PackageSpec
    expires: datetime.date
    reason: str
    hosts: Tuple[str, ...] = ()

    def covers(self, host: str, version: str) -> bool:
        return (not self.hosts or host in self.hosts) and self.spec.matches_version(version)

    def describe(self) -> str:
        return "%s until %s: %s" % (self.spec, self.expires.isoformat(), self.reason)


@dataclass(frozen=True)
class Policy:
    deny: Tuple[DenyRule, ...] = ()
    allow: Tuple[AllowRule, ...] = ()


def _text(entry: Mapping[str, Any], key: str, where: str, required: bool = False) -> str:
    value = entry.get(key)
    if value is None or value == "":
        if required:
            raise PolicyError("%s: %s is required" % (where, key))
        return ""
    if not isinstance(value, str) or len(value) > MAX_TEXT or any(ord(c) < 32 for c in value):
        raise PolicyError(
            "%s: %s must be text of at most %d characters without control characters" % (where, key, MAX_TEXT)
        )
    return value


def _spec(entry: Mapping[str, Any], where: str) -> PackageSpec:
    name = entry.get("name", entry.get("package"))
    if not isinstance(name, str):
        raise PolicyError("%s: name (the package) is required" % where)
    version = entry.get("version")
    if version is not None and not isinstance(version, str):
        raise PolicyError("%s: version must be text such as <3.0.14" % where)
    try:
        return spec_of(name, version, where)
    except ValueError as exc:
        raise PolicyError(str(exc))


def deny_rule(entry: Any, where: str) -> DenyRule:
    if isinstance(entry, str):
        return DenyRule(_spec({"name": entry}, where))
    if not isinstance(entry, Mapping):
        raise PolicyError("%s: a rule is a text such as openssl<3.0.14 or {name, version, id, reason}" % where)
    unknown = sorted(set(entry) - {"name", "package", "version", "id", "reason"})
    if unknown:
        raise PolicyError("%s: unknown keys %s" % (where, ", ".join(map(str, unknown))))
    return DenyRule(_spec(entry, where), _text(entry, "id", where), _text(entry, "reason", where))


def allow_rule(entry: Any, where: str) -> AllowRule:
    if not isinstance(entry, Mapping):
        raise PolicyError("%s: an exception is {name, version, expires, reason, hosts}" % where)
    unknown = sorted(set(entry) - {"name", "package", "version", "expires", "reason", "hosts"})
    if unknown:
        raise PolicyError("%s: unknown keys %s" % (where, ", ".join(map(str, unknown))))
    expires = entry.get("expires")
    if isinstance(expires, datetime.date):  # YAML reads an unquoted date as one
        day = expires
    else:
        text = _text(entry, "expires", where, required=True)
        try:
            day = datetime.date.fromisoformat(text)
        except ValueError:
            raise PolicyError("%s: expires must be a date, YYYY-MM-DD" % where)
    hosts = entry.get("hosts") or []
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        raise PolicyError("%s: hosts must be a list of host names" % where)
    return AllowRule(_spec(entry, where), day, _text(entry, "reason", where, required=True), tuple(hosts))


def policy(deny: Sequence[Any], allow: Sequence[Any], document: Any = None, source: str = "") -> Policy:
    """The rules of ``deny`` and ``allow`` (option values) and of a JSON ``document`` read from ``source``."""
    if not isinstance(deny, (list, tuple)) or not isinstance(allow, (list, tuple)):
        raise PolicyError("deny_packages and allow_packages are lists")
    denied = [deny_rule(e, "deny_packages[%d]" % i) for i, e in enumerate(deny)]
    allowed = [allow_rule(e, "allow_packages[%d]" % i) for i, e in enumerate(allow)]
    if document is not None:
        if isinstance(document, list):
            document = {"deny": document}
        if (
            not isinstance(document, Mapping)
            or set(document) - {"deny", "allow"}
            or not all(isinstance(document.get(k, []), list) for k in ("deny", "allow"))
        ):
            raise PolicyError('%s: want {"deny": [rules], "allow": [exceptions]} or a list of rules' % source)
        denied += [deny_rule(e, "%s deny[%d]" % (source, i)) for i, e in enumerate(document.get("deny", []))]
        allowed += [allow_rule(e, "%s allow[%d]" % (source, i)) for i, e in enumerate(document.get("allow", []))]
    return Policy(tuple(denied), tuple(allowed))


@dataclass(frozen=True)
class Finding:
    """A denied version in a system: the rule, the match (with its chain), and the exception that
    lets it through (None: refused)."""

    rule: DenyRule
    match: Match
    allowed_by: Optional[AllowRule] = None

    def describe(self) -> str:
        package = self.match.package
        text = "%s %s is denied by %s; pulled in by %s" % (
            package.name,
            package.version,
            self.rule.describe(),
            why(self.match.chain),
        )
        if self.allowed_by:
            text += "; allowed by exception for %s" % self.allowed_by.describe()
        return text

    def to_dict(self) -> Dict[str, Any]:
        data = dict(self.match.to_dict(), denied_by=str(self.rule.spec), id=self.rule.id, reason=self.rule.reason)
        if self.allowed_by:
            data["allowed"] = {
                "rule": str(self.allowed_by.spec),
                "expires": self.allowed_by.expires.isoformat(),
                "reason": self.allowed_by.reason,
            }
        return data


@dataclass
class Verdict:
    refused: List[Finding] = field(default_factory=list)
    allowed: List[Finding] = field(default_factory=list)
    expired: List[AllowRule] = field(default_factory=list)  # exceptions that would cover, but expired


def check(host: str, graph: ClosureGraph, root: str, rules: Policy, today: datetime.date) -> Verdict:
    """Every version ``rules`` deny in the closure of ``root`` (host ``host``)."""
    verdict = Verdict()
    seen = set()
    for rule in rules.deny:
        for match in find(graph, root, rule.spec):
            if match.package.path in seen:
                continue  # one finding per path (the first rule that denies it)
            seen.add(match.package.path)
            covering = [
                a for a in rules.allow if a.spec.name == match.package.name and a.covers(host, match.package.version)
            ]
            valid = [a for a in covering if a.expires >= today]
            if valid:
                verdict.allowed.append(Finding(rule, match, valid[0]))
            else:
                verdict.refused.append(Finding(rule, match))
                verdict.expired += [a for a in covering if a not in verdict.expired]
    return verdict
