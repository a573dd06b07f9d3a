# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Secret files a deploy uploads to its hosts, in colmena's ``deployment.keys`` shape.

A key is ``{ text | keyFile | keyCommand; name; destDir = "/run/keys"; user = "root";
group = "root"; permissions = "0600"; uploadAt = "pre-activation" | "post-activation"; }``
(colmena's options and defaults). ``parse_keys`` checks every field and says which host and key
is wrong; ``flake_keys_expression`` reads them from configurations in one ``nix eval`` (a
``keyFile`` stays a string: ``toString`` never copies a path into the store); ``plan`` decides,
by comparing the file on the host with the key, whether it must be written; ``describe`` says
what a key file is for a diff, never its content.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.account_name import is_account_name
from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes.flake_inventory import flake_view, nix_string
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.target_file import (
    FileState,
    check_target_path,
    parse_mode,
)

DEFAULT_DEST_DIR = "/run/keys"
SOURCES = ("text", "keyFile", "keyCommand")
FIELDS = SOURCES + ("name", "destDir", "user", "group", "permissions", "uploadAt")
_KEY_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,254}$")


class UploadAt(Enum):
    PRE_ACTIVATION = "pre-activation"
    POST_ACTIVATION = "post-activation"


class KeySpecError(ValueError):
    """A key whose specification cannot be honoured (the message names host and key)."""


@dataclass(frozen=True)
class KeySpec:
    """One key: where it goes, who owns it, and where its content comes from (``source`` is one
    of ``SOURCES``; ``value`` the text, the controller's file, or the command's argv)."""

    attr: str
    name: str
    source: str
    value: Any
    dest_dir: str = DEFAULT_DEST_DIR
    user: str = "root"
    group: str = "root"
    mode: int = 0o600
    upload_at: UploadAt = UploadAt.PRE_ACTIVATION

    @property
    def path(self) -> str:
        return posixpath.join(self.dest_dir, self.name)


def _field(spec: Dict[str, Any], name: str, default: Any) -> Any:
    """An option's value; colmena's default where it is unset (or null)."""
    value = spec.get(name)
    return default if value is None else value


def parse_key(host: str, attr: str, spec: Any) -> KeySpec:
    """One key of ``host``'s ``deployment.keys.<attr>``, checked; ``KeySpecError`` says what is wrong."""
    where = "key %r of host %s" % (attr, host)
    if not isinstance(spec, dict):
        raise KeySpecError("%s is not an attribute set of key options" % where)
    unknown = sorted(set(spec) - set(FIELDS) - {"path"})
    if unknown:
        raise KeySpecError(
            "%s has unknown options %s (colmena's are %s)" % (where, ", ".join(unknown), ", ".join(FIELDS))
        )
    sources = [s for s in SOURCES if spec.get(s) is not None]
    if len(sources) != 1:
        raise KeySpecError(
            "%s must set exactly one of text, keyFile and keyCommand (it sets %s)"
            % (where, ", ".join(sources) or "none")
        )
    source, value = sources[0], spec[sources[0]]
    if source == "text" and not isinstance(value, str):
        raise KeySpecError("%s: text must be a string" % where)
    if source == "keyFile" and (not isinstance(value, str) or not value.startswith("/")):
        raise KeySpecError("%s: keyFile must be an absolute path on the controller, not %r" % (where, value))
    if source == "keyCommand" and (
        not isinstance(value, list) or not value or not all(isinstance(w, str) for w in value)
    ):
        raise KeySpecError(
            "%s: keyCommand must be a non-empty list of strings (a program and its arguments, "
            "run without a shell)" % where
        )
    name = _field(spec, "name", attr)
    if not isinstance(name, str) or not _KEY_NAME.fullmatch(name) or name in (".", ".."):
        raise KeySpecError(
            "%s: name %r is not a file name (one path segment of letters, digits and ._@+-)" % (where, name)
        )
    dest_dir = _field(spec, "destDir", DEFAULT_DEST_DIR)
    try:
        check_target_path(str(dest_dir), "destDir")
    except ValueError as exc:
        raise KeySpecError("%s: %s" % (where, exc))
    if dest_dir == "/":
        raise KeySpecError("%s: destDir / is not a key directory" % where)
    owner = {}
    for option in ("user", "group"):
        account = _field(spec, option, "root")
        if not is_account_name(account, numeric_ok=True):
            raise KeySpecError("%s: %s %r is not a user or group name" % (where, option, account))
        owner[option] = account
    try:
        mode = parse_mode(str(_field(spec, "permissions", "0600")))
    except ValueError as exc:
        raise KeySpecError("%s: permissions: %s" % (where, exc))
    try:
        upload_at = UploadAt(_field(spec, "uploadAt", UploadAt.PRE_ACTIVATION.value))
    except ValueError:
        raise KeySpecError(
            "%s: uploadAt must be pre-activation or post-activation, not %r" % (where, spec.get("uploadAt"))
        )
    return KeySpec(attr, name, source, value, str(dest_dir), owner["user"], owner["group"], mode, upload_at)


def parse_keys(host: str, keys: Any) -> List[KeySpec]:
    """Every key of a host, checked; two keys for one path are an error too."""
    if keys is None:
        return []
    if not isinstance(keys, dict):
        raise KeySpecError("the keys of host %s must be an attribute set (name → key options)" % host)
    parsed = [parse_key(host, attr, keys[attr]) for attr in sorted(keys)]
    paths: Dict[str, str] = {}
    for key in parsed:
        if key.path in paths:
            raise KeySpecError("keys %r and %r of host %s both write %s" % (paths[key.path], key.attr, host, key.path))
        paths[key.path] = key.attr
    return parsed


def flake_keys_expression(hosts: Dict[str, Tuple[str, str]]) -> str:
    """A Nix expression: ``{ HOST = { ATTR = { text; keyFile; keyCommand; name; … }; }; }`` for
    ``hosts`` (``{host: (flake ref, attribute path of its configuration)}``)."""
    flakes = sorted({ref for ref, _attr in hosts.values()})
    bindings = " ".join("f%d = %s;" % (i, flake_view(ref)) for i, ref in enumerate(flakes))
    entries = " ".join(
        "%s = keysOf f%d.%s;" % (nix_string(host), flakes.index(ref), attr)
        for host, (ref, attr) in sorted(hosts.items())
    )
    # Only the options colmena defines; a keyFile path as a string (not copied into the store).
    return (
        'let %s keysOf = c: builtins.mapAttrs (_: k: builtins.removeAttrs k [ "path" ] // '
        "{ keyFile = if (k.keyFile or null) == null then null else toString k.keyFile; }) "
        "((c.config.deployment or { }).keys or { }); in { %s }" % (bindings, entries)
    )


def plan(current: FileState, key: KeySpec, content: str, uid: int, gid: int) -> Optional[str]:
    """Why the key file must be written, or None when it already is as asked."""
    if current.kind in ("link", "other"):
        raise KeySpecError(
            "%s exists but is not a regular file (a symlink or directory); nothing was changed" % key.path
        )
    if not current.exists:
        return "%s does not exist" % key.path
    reasons = []
    if current.content != content:
        reasons.append("its content differs")
    if (current.uid, current.gid) != (uid, gid):
        reasons.append("it is owned by %s:%s, not %s:%s" % (current.uid, current.gid, key.user, key.group))
    if current.mode != key.mode:
        reasons.append("its mode is %04o, not %04o" % (current.mode or 0, key.mode))
    return "%s: %s" % (key.path, ", ".join(reasons)) if reasons else None


def describe(key: KeySpec, state: FileState, content_label: str) -> str:
    """A key file for a diff: path, owner, mode and a word for its content (never the content)."""
    if not state.exists:
        return ""
    return "path: %s\nowner: %s:%s\nmode: %04o\ncontent: %s (%d bytes, not shown)\n" % (
        key.path,
        state.uid,
        state.gid,
        state.mode or 0,
        content_label,
        len(state.content.encode()),
    )
