# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""``nix.conf``: parse, validate, and edit in place keeping every line the edit does not own.

The format, as Nix reads it: ``name = value`` lines, where everything from ``#`` on is a comment
and a value is a whitespace-separated list of words; ``include PATH`` / ``!include PATH``; blank
lines. A later line for the same name wins. An edit replaces the first line that sets a managed
name (and drops its later duplicates, which would override it), appends names that are not set,
and leaves every other line, comment and blank line exactly as it was. A value already equal
(word for word) is not rewritten, so formatting survives and a second run changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

NAME = re.compile(r"^[a-z][a-z0-9-]*$")
USER = re.compile(r"^@?[A-Za-z0-9_.*][A-Za-z0-9_.*-]*$")
URL_SETTINGS = ("substituters", "trusted-substituters")
KEY_SETTINGS = ("trusted-public-keys",)
USER_SETTINGS = ("trusted-users", "allowed-users")
PATH_SETTINGS = ("netrc-file",)
# Schemes of Nix store URLs (plain paths are local stores too).
STORE_SCHEMES = ("http", "https", "file", "s3", "ssh", "ssh-ng", "daemon", "unix", "local", "gs")
BARE_STORES = ("daemon", "local", "auto")
NEEDS_HOST = ("http", "https", "s3", "ssh", "ssh-ng", "gs")
APPENDED_HEADER = "# Managed by nixfleet.nixos.nix_conf"


class NixConfError(ValueError):
    """A malformed nix.conf, or a value Nix would not accept."""


@dataclass(frozen=True)
class Line:
    """One line of the file: its text and, for a setting, the name and value words."""

    text: str
    name: Optional[str] = None
    words: Tuple[str, ...] = ()


@dataclass
class Edit:
    text: str
    changes: List[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def base_name(name: str) -> str:
    """``extra-substituters`` → ``substituters`` (what the setting adds to)."""
    return name[len("extra-") :] if name.startswith("extra-") else name


def parse(text: str, where: str = "nix.conf") -> List[Line]:
    """The file's lines; a line Nix would reject is a ``NixConfError`` naming it."""
    lines = []
    for number, raw in enumerate(text.splitlines(), 1):
        content = raw.split("#", 1)[0].strip()
        if not content:
            lines.append(Line(raw))
            continue
        words = content.split()
        if words[0] in ("include", "!include"):
            if len(words) != 2:
                raise NixConfError("line %d of %s: '%s' takes one path" % (number, where, words[0]))
            lines.append(Line(raw))
            continue
        if len(words) < 2 or words[1] != "=" or not NAME.fullmatch(words[0]):
            raise NixConfError("line %d of %s is not 'name = value': %r" % (number, where, raw[:120]))
        lines.append(Line(raw, words[0], tuple(words[2:])))
    return lines


def settings(lines: Sequence[Line]) -> Dict[str, Tuple[str, ...]]:
    """The effective value of every name set in the file (the last line wins)."""
    return {line.name: line.words for line in lines if line.name}


def edit(text: str, desired: Dict[str, Tuple[str, ...]], remove: Sequence[str] = (), where: str = "nix.conf") -> Edit:
    """``text`` with every name in ``desired`` set to its words and every name in ``remove`` unset."""
    lines = parse(text, where)
    out: List[str] = []
    done = set()
    changes = []
    for line in lines:
        if line.name in remove:
            changes.append("removed %s" % line.name)
            continue
        if line.name not in desired:
            out.append(line.text)
            continue
        if line.name in done:
            changes.append("dropped a later line for %s (it would override the managed one)" % line.name)
            continue
        done.add(line.name)
        want = desired[line.name]
        if line.words == want:
            out.append(line.text)
        else:
            out.append(render_line(line.name, want))
            changes.append("%s: %s -> %s" % (line.name, " ".join(line.words) or "(empty)", " ".join(want) or "(empty)"))
    missing = [name for name in desired if name not in done]
    if missing:
        if out and out[-1].strip():
            out.append("")
        out.append(APPENDED_HEADER)
        for name in missing:
            out.append(render_line(name, desired[name]))
            changes.append("%s: (unset) -> %s" % (name, " ".join(desired[name]) or "(empty)"))
    return Edit("\n".join(out) + "\n" if out else "", changes)


def render_line(name: str, words: Sequence[str]) -> str:
    return ("%s = %s" % (name, " ".join(words))).rstrip()


def validate_store_url(url: str, name: str) -> None:
    if any(c.isspace() for c in url) or not url:
        raise NixConfError("%s: %r is not a store URL (no whitespace allowed)" % (name, url))
    if url.startswith("/") or url in BARE_STORES:
        return
    parts = urlsplit(url)
    if parts.scheme not in STORE_SCHEMES:
        raise NixConfError(
            "%s: %r is not a store URL Nix understands (scheme %r; expected one of %s)"
            % (name, url, parts.scheme, ", ".join(STORE_SCHEMES))
        )
    if parts.scheme in NEEDS_HOST and not parts.netloc:
        raise NixConfError("%s: %r has no host" % (name, url))
    if parts.scheme == "file" and (parts.netloc or not parts.path.startswith("/")):
        raise NixConfError("%s: %r needs an absolute path (file:///path)" % (name, url))


def validate_public_key(key: str, name: str = "trusted-public-keys") -> None:
    """``name:base64`` of a 32-byte Ed25519 public key, as ``nix-store --generate-binary-cache-key`` writes it."""
    label, sep, data = key.partition(":")
    if not sep or not label or any(c.isspace() for c in key):
        raise NixConfError("%s: %r is not 'name:base64-key'" % (name, key[:80]))
    try:
        raw = base64.b64decode(data.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise NixConfError("%s: the key of %r is not valid base64" % (name, label))
    if len(raw) != 32:
        raise NixConfError("%s: the key of %r is %d bytes, not a 32-byte Ed25519 public key" % (name, label, len(raw)))


def validate(name: str, words: Sequence[str]) -> None:
    """Refuse what Nix would reject or misread; ``name`` may carry an ``extra-`` prefix."""
    if not NAME.fullmatch(name):
        raise NixConfError("setting %r is not a nix.conf setting name" % name)
    base = base_name(name)
    for word in words:
        if not word or any(c.isspace() for c in word) or "#" in word:
            raise NixConfError("%s: %r cannot be written in nix.conf (whitespace or '#')" % (name, word))
        if base in URL_SETTINGS:
            validate_store_url(word, name)
        elif base in KEY_SETTINGS:
            validate_public_key(word, name)
        elif base in USER_SETTINGS and not USER.fullmatch(word):
            raise NixConfError("%s: %r is not a user or @group" % (name, word))
        elif base in PATH_SETTINGS and not word.startswith("/"):
            raise NixConfError("%s: %r is not an absolute path" % (name, word))


# Options of the nix_conf module and the nix.conf settings they set.
NAMED_LISTS = {
    "substituters": "substituters",
    "extra_substituters": "extra-substituters",
    "trusted_substituters": "trusted-substituters",
    "trusted_public_keys": "trusted-public-keys",
    "extra_trusted_public_keys": "extra-trusted-public-keys",
    "trusted_users": "trusted-users",
}


def words_of(value: Any) -> Tuple[str, ...]:
    """A setting's value as nix.conf words: a list, a boolean (``true``/``false``) or a string."""
    if isinstance(value, bool):
        return ("true" if value else "false",)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return tuple(str(value).split())


def desired_settings(
    named: Dict[str, Any], netrc_file: Optional[str], extra: Dict[str, Any], remove: Sequence[str]
) -> Dict[str, Tuple[str, ...]]:
    """``{name: words}`` from the module's named options, ``netrc_file`` and ``settings``; validated
    (and the names in ``remove``), so a bad value fails before anything is read or written."""
    desired = {NAMED_LISTS[option]: tuple(value) for option, value in named.items() if value is not None}
    if netrc_file:
        desired["netrc-file"] = (netrc_file,)
    for name, value in extra.items():
        if name in desired:
            raise NixConfError("%s is given twice (as an option and in settings)" % name)
        desired[name] = words_of(value)
    for name, words in desired.items():
        validate(name, words)
    for name in remove:
        validate(name, ())
    return desired


def missing_from(running: Dict[str, Tuple[str, ...]], desired: Dict[str, Tuple[str, ...]]) -> List[str]:
    """What ``desired`` asks for that the running configuration lacks (``extra-`` names are
    checked against the setting they extend: its words must include theirs)."""
    problems = []
    for name, words in desired.items():
        have = running.get(base_name(name))
        if name.startswith("extra-") or base_name(name) in URL_SETTINGS + KEY_SETTINGS + USER_SETTINGS:
            lacking = [w for w in words if w not in (have or ())]
            if lacking:
                problems.append("%s lacks %s" % (base_name(name), " ".join(lacking)))
        elif have != tuple(words):
            problems.append(
                "%s is %s, not %s" % (name, " ".join(have or ()) or "(unset)", " ".join(words) or "(empty)")
            )
    return problems


def parse_show_config(data: Dict) -> Dict[str, Tuple[str, ...]]:
    """``nix show-config --json`` / ``nix config show --json`` → ``{name: words}``."""
    result = {}
    for name, entry in data.items():
        value = entry.get("value") if isinstance(entry, dict) else entry
        if isinstance(value, list):
            result[name] = tuple(str(v) for v in value)
        elif isinstance(value, bool):
            result[name] = ("true" if value else "false",)
        elif value is None or value == "":
            result[name] = ()
        else:
            result[name] = tuple(str(value).split())
    return result
