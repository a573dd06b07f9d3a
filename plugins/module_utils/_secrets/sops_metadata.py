# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""What sops writes and reads: a repository's ``.sops.yaml`` rules and an encrypted file's metadata.

* ``.sops.yaml``: ``creation_rules`` are tried in order; the first whose ``path_regex`` matches
  the file's path (relative to the directory of ``.sops.yaml``; no regex matches everything)
  decides its recipients: ``age`` (a comma-separated string or a list) and/or ``key_groups``
  (each with an ``age`` list).
* An encrypted YAML/JSON file carries ``sops.age`` (and, with key groups, ``sops.key_groups[].age``):
  one ``{recipient, enc}`` per recipient, ``enc`` being an armored age file whose plaintext is the
  file's data key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets.age_keys import AgeKeyError, parse_recipient


class SopsError(ValueError):
    """A malformed ``.sops.yaml`` or sops-encrypted file."""


@dataclass(frozen=True)
class CreationRule:
    index: int
    path_regex: Optional[str]
    age: List[str]

    def describe(self) -> str:
        return "creation_rules[%d] (path_regex %s)" % (self.index, self.path_regex or "<none: every file>")


@dataclass(frozen=True)
class AgeStanza:
    recipient: str
    enc: str


@dataclass
class FileCoverage:
    """Whether one secrets file's rule lists a recipient."""

    file: str
    rule: Optional[str]
    covered: bool
    recipients: List[str] = field(default_factory=list)

    @property
    def problem(self) -> Optional[str]:
        if self.rule is None:
            return "%s: no creation rule of .sops.yaml matches this file" % self.file
        if not self.covered:
            return "%s: %s does not list the host's recipient" % (self.file, self.rule)
        return None


def _age_list(value: Any, where: str) -> List[str]:
    if value is None:
        return []
    if isinstance(value, str):
        items = [v.strip() for v in value.replace("\n", ",").split(",")]
    elif isinstance(value, list):
        items = [str(v).strip() for v in value]
    else:
        raise SopsError("%s: 'age' must be a string or a list, not %s" % (where, type(value).__name__))
    items = [i for i in items if i]
    for item in items:
        try:
            parse_recipient(item, where)
        except AgeKeyError as exc:
            raise SopsError(str(exc))
    return items


def parse_config(data: Any) -> List[CreationRule]:
    """The creation rules of a loaded ``.sops.yaml``."""
    if not isinstance(data, dict) or not isinstance(data.get("creation_rules"), list):
        raise SopsError(".sops.yaml has no creation_rules list")
    rules = []
    for index, raw in enumerate(data["creation_rules"]):
        where = ".sops.yaml creation_rules[%d]" % index
        if not isinstance(raw, dict):
            raise SopsError("%s is not a mapping" % where)
        regex = raw.get("path_regex")
        if regex is not None:
            try:
                re.compile(regex)
            except re.error as exc:
                raise SopsError("%s: path_regex %r does not compile: %s" % (where, regex, exc))
        age = _age_list(raw.get("age"), where)
        for g, group in enumerate(raw.get("key_groups") or []):
            if not isinstance(group, dict):
                raise SopsError("%s.key_groups[%d] is not a mapping" % (where, g))
            age += _age_list(group.get("age"), "%s.key_groups[%d]" % (where, g))
        rules.append(CreationRule(index, regex, age))
    return rules


def rule_for(rules: List[CreationRule], path: str) -> Optional[CreationRule]:
    """The first rule sops would use for ``path`` (relative to the directory of .sops.yaml)."""
    for rule in rules:
        if rule.path_regex is None or re.search(rule.path_regex, path):
            return rule
    return None


def coverage(rules: List[CreationRule], files: List[str], recipients: List[str]) -> List[FileCoverage]:
    """For each file, the rule that covers it and whether it lists any of ``recipients``."""
    result = []
    for path in files:
        rule = rule_for(rules, path)
        if rule is None:
            result.append(FileCoverage(path, None, False))
            continue
        covered = any(r in rule.age for r in recipients)
        result.append(FileCoverage(path, rule.describe(), covered, list(rule.age)))
    return result


def age_stanzas(document: Any, where: str) -> List[AgeStanza]:
    """Every age ``{recipient, enc}`` of a loaded sops-encrypted YAML/JSON document."""
    if not isinstance(document, dict) or not isinstance(document.get("sops"), dict):
        raise SopsError("%s is not a sops-encrypted YAML/JSON file (no 'sops' metadata)" % where)
    meta: Dict[str, Any] = document["sops"]
    entries = list(meta.get("age") or [])
    for group in meta.get("key_groups") or []:
        if isinstance(group, dict):
            entries += list(group.get("age") or [])
    stanzas = []
    for number, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("recipient") or not entry.get("enc"):
            raise SopsError("%s: sops age entry %d lacks 'recipient' or 'enc'" % (where, number))
        stanzas.append(AgeStanza(str(entry["recipient"]).strip(), str(entry["enc"])))
    return stanzas
