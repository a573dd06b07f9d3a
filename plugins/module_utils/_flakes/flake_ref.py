# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Flake references: resolve what users write, lock what Nix fetched."""

from __future__ import annotations

import os
import re
from typing import Mapping, Optional, Tuple
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

_SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
GIT_SCHEMES = ("git+file", "git+https", "git+http", "git+ssh", "git")
REV_IN_QUERY_SCHEMES = GIT_SCHEMES + ("github", "gitlab", "sourcehut")


def is_local_path(value: str) -> bool:
    """``../infra``, ``/srv/infra``, ``infra`` (no scheme) are local paths, as for ``nix build``."""
    return not _SCHEME_RE.match(value) or value.startswith("path:")


def git_toplevel(directory: str) -> Optional[str]:
    """The work tree containing ``directory`` (a ``.git`` dir or file above it), if any."""
    current = os.path.abspath(directory)
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def resolve_flake_ref(value: str, base_dir: str) -> str:
    """Turn what a user wrote into a flake ref Nix can use from anywhere.

    Local paths are taken relative to ``base_dir`` (the inventory file's directory) and, like
    the ``nix`` CLI does, a directory inside a git work tree becomes ``git+file://TOP?dir=SUB``
    (Nix then sees tracked files only); other directories become ``path:/abs``. ``path:`` refs
    stay ``path:`` refs. Every other ref (``github:``, ``git+https:``, …) is returned as is.
    """
    value = (value or "").strip()
    if not value:
        raise ValueError("the flake reference is empty")
    if not is_local_path(value):
        return value
    explicit_path = value.startswith("path:")
    raw = value[len("path:") :] if explicit_path else value
    raw, _sep, query = raw.partition("?")
    directory = os.path.normpath(os.path.join(base_dir, os.path.expanduser(raw)))
    suffix = "?" + query if query else ""
    top = None if explicit_path else git_toplevel(directory)
    if top is None:
        return "path:%s%s" % (directory, suffix)
    sub = os.path.relpath(directory, top)
    params = [("dir", sub)] if sub != "." else []
    params += parse_qsl(query)
    return "git+file://%s%s" % (top, ("?" + urlencode(params, safe="/")) if params else "")


def split_ref(ref: str) -> Tuple[str, str, Mapping[str, str]]:
    """``(scheme, location, query)`` of a flake ref URL."""
    parts = urlsplit(ref)
    location = ref[len(parts.scheme) + 1 :].split("?", 1)[0]
    return parts.scheme, location, dict(parse_qsl(parts.query))


def local_source_dir(ref: str) -> Optional[str]:
    """The directory on this machine that a ``path:`` / ``git+file:`` ref reads, if any."""
    scheme, location, query = split_ref(ref)
    if scheme == "path":
        return location
    if scheme == "git+file":
        path = location[2:] if location.startswith("//") else location
        return os.path.join(path, query["dir"]) if query.get("dir") else path
    return None


def locked_ref(ref: str, source: Mapping[str, object]) -> str:
    """A ref that always means exactly the source Nix just fetched for ``ref``.

    ``source`` is what the evaluation saw (``rev``, ``narHash``, ``storePath``: the fetched copy). With a commit
    (clean git, GitHub, …) the ref pins ``rev``, so ``self.rev`` stays what it was; otherwise
    (a dirty tree, a plain directory, a tarball) it points at the fetched copy in the store,
    which cannot change.
    """
    scheme, _rest, query = split_ref(ref)
    rev = source.get("rev")
    if rev and scheme in REV_IN_QUERY_SCHEMES:
        base, _sep, query_string = ref.partition("?")
        params = [(k, v) for k, v in parse_qsl(query_string) if k not in ("rev", "ref")]
        params.append(("rev", str(rev)))
        return "%s?%s" % (base, urlencode(params, safe="/"))
    out_path = source.get("storePath")
    if not out_path:
        return ref
    sub = query.get("dir")
    if sub:
        return "path:%s/%s" % (out_path, sub.strip("/"))
    nar_hash = source.get("narHash")
    return "path:%s%s" % (out_path, "?narHash=%s" % nar_hash if nar_hash else "")


def glob_to_regex(pattern: str) -> str:
    """A shell glob (``web-*``, ``db-0?``, ``[ab]*``) as a POSIX ERE for ``builtins.match``."""
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append("\\[")
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[%s]" % body)
                i = end
        elif char in ".^$+(){}|\\":
            out.append("\\" + char)
        else:
            out.append(char)
        i += 1
    return "".join(out)


def ref_rev(ref: Optional[str]) -> Optional[str]:
    """The ``rev`` a locked flake ref names in its query (``git+file:///infra?rev=abc…``), if any."""
    values = parse_qs(urlsplit(ref or "").query).get("rev")
    return values[0] if values else None
