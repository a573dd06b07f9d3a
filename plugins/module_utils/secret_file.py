# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A secret file on a target, read and written with POSIX shell only (the target may lack Python).

``probe_command`` prints one status line and then the file's content; ``parse_probe`` reads it
back. ``write_command`` reads the new content from standard input and installs it atomically:
a temporary file in the same directory, created under ``umask 077``, chowned and chmodded, then
renamed over the old one; the temporary file is removed if anything fails. Content travels only
on standard input, never on a command line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils.shell import quote

MARK = "nixfleet-secret-file"
_STATUS = re.compile(r"^%s (?P<kind>absent|file|other)(?: (?P<uid>\d+) (?P<gid>\d+) (?P<mode>[0-7]+))?$" % MARK)
MODE = re.compile(r"^0?[0-7]{3}$")


@dataclass(frozen=True)
class SecretFileState:
    """What is at the path: ``absent``, a regular ``file`` (with owner, mode, content) or ``other``."""

    kind: str
    uid: Optional[int] = None
    gid: Optional[int] = None
    mode: Optional[int] = None
    content: str = ""

    @property
    def exists(self) -> bool:
        return self.kind != "absent"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content.encode()).hexdigest()


def parse_mode(text: str) -> int:
    """``"0600"`` / ``"600"`` → 0o600; anything else is a ``ValueError``."""
    if not MODE.match(str(text)):
        raise ValueError("mode %r is not an octal permission like 0600" % (text,))
    return int(str(text), 8)


def probe_command(path: str) -> str:
    """Status line (``absent``, ``other`` for a non-regular file or symlink, or ``file UID GID MODE``),
    then, for a file, its content."""
    p = quote(path)
    return ("if [ -L {p} ] || {{ [ -e {p} ] && [ ! -f {p} ]; }}; then echo '{m} other'; "
            "elif [ -f {p} ]; then printf '{m} file %s\\n' \"$(stat -c '%u %g %a' {p})\" && cat {p}; "
            "else echo '{m} absent'; fi").format(p=p, m=MARK)


def parse_probe(output: str) -> SecretFileState:
    first, _sep, rest = output.partition("\n")
    match = _STATUS.match(first.strip())
    if not match:
        raise ValueError("unexpected answer from the file probe: %r" % first[:100])
    if match.group("kind") != "file":
        return SecretFileState(match.group("kind"))
    return SecretFileState("file", int(match.group("uid")), int(match.group("gid")), int(match.group("mode"), 8),
                           rest)


def write_command(path: str, owner: str, group: str, mode: int, dir_mode: int) -> str:
    """Install standard input at ``path`` atomically with ``owner:group`` and ``mode``; create the
    parent directory with ``dir_mode`` if it is missing."""
    p = quote(path)
    return ("set -e; umask 077; d=$(dirname {p}); "
            "if [ ! -d \"$d\" ]; then mkdir -p \"$d\"; chmod {dm:04o} \"$d\"; fi; "
            "t=$(mktemp \"$d/.nixfleet-secret.XXXXXX\"); trap 'rm -f \"$t\"' EXIT; "
            "cat > \"$t\"; chown {o}:{g} \"$t\"; chmod {m:04o} \"$t\"; mv -f \"$t\" {p}; trap - EXIT"
            ).format(p=p, o=quote(owner), g=quote(group), m=mode, dm=dir_mode)


def fix_permissions_command(path: str, owner: str, group: str, mode: int) -> str:
    p = quote(path)
    return "chown {o}:{g} {p} && chmod {m:04o} {p}".format(p=p, o=quote(owner), g=quote(group), m=mode)


def id_command(owner: str, group: str) -> str:
    """Prints the numeric uid and gid of ``owner`` and ``group`` on the target."""
    return "printf '%s %s\\n' \"$(id -u {o})\" \"$(getent group {g} | cut -d: -f3)\"".format(
        o=quote(owner), g=quote(group))
