# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""A file on a target (a key, nix.conf, a generated config), read and written with POSIX shell only
(the target may lack Python).

``probe_command`` prints one status line and then, for a regular file, its content;
``parse_probe`` reads it back. ``owner_probe_command`` does the same after resolving an owner and
group to numbers, in the same round trip. ``write_command`` reads the new content from standard
input and installs it atomically: a temporary file in the same directory (mktemp's template),
created under ``umask 077``, chowned and chmodded, then renamed over the old one; the temporary
file is removed if anything fails. Content travels only on standard input, never on a command line.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Optional, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_operation import Operation
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command, argv, raw

MARK = "nixfleet-target-file"
_STATUS = re.compile(
    r"^%s (?:(?P<kind>absent|file|other)(?: (?P<uid>\d+) (?P<gid>\d+) (?P<mode>[0-7]+))?"
    r"|link (?P<target>.*))$" % MARK
)
_IDS = re.compile(r"^%s ids (?P<uid>\d*) (?P<gid>\d*)$" % MARK)
MODE = re.compile(r"^0?[0-7]{3}$")


@dataclass(frozen=True)
class FileState:
    """What is at the path: ``absent``, a regular ``file`` (owner, mode, content), a ``link``
    (its resolved target) or ``other`` (a directory, a device…)."""

    kind: str
    uid: Optional[int] = None
    gid: Optional[int] = None
    mode: Optional[int] = None
    content: str = ""
    target: Optional[str] = None

    @property
    def exists(self) -> bool:
        return self.kind != "absent"


def check_target_path(path: str, option: str) -> str:
    """``path``, the value of ``option``, if it is absolute and normalised (no ``..``, ``.`` or ``//``)
    without control characters: remote commands take it as it is, and it cannot leave its directory."""
    if (
        not path.startswith("/")
        or path != posixpath.normpath(path)
        or path.startswith("//")
        or any(ord(c) < 32 or ord(c) == 127 for c in path)
    ):
        raise ValueError(
            "%s %r: give an absolute, normalised path (no '..', '.', '//' or control characters)" % (option, path)
        )
    return path


def parse_mode(text: str) -> int:
    """``"0600"`` / ``"600"`` → 0o600; anything else is a ``ValueError``."""
    if not MODE.fullmatch(str(text)):
        raise ValueError("mode %r is not an octal permission like 0600" % (text,))
    return int(str(text), 8)


def probe_command(path: str) -> Command:
    return raw(
        "if [ -L @{p} ]; then printf '@{m} link %s\\n' \"$(readlink -f @{p})\"; "
        "elif [ -e @{p} ] && [ ! -f @{p} ]; then echo '@{m} other'; "
        "elif [ -f @{p} ]; then printf '@{m} file %s\\n' \"$(stat -c '%u %g %a' @{p})\" && cat @{p}; "
        "else echo '@{m} absent'; fi",
        p=path,
        m=raw(MARK),
    )


def parse_probe(output: str) -> FileState:
    first, _sep, rest = output.partition("\n")
    match = _STATUS.match(first.strip())
    if not match:
        raise ValueError("unexpected answer from the file probe: %r" % first[:100])
    if match.group("target") is not None:
        return FileState("link", target=match.group("target"))
    if match.group("kind") != "file":
        return FileState(match.group("kind"))
    return FileState("file", int(match.group("uid")), int(match.group("gid")), int(match.group("mode"), 8), rest)


def owner_probe_command(owner: str, group: str, path: str) -> Command:
    """The numeric uid and gid of ``owner`` and ``group`` (empty when unknown), then the probe of ``path``."""
    return raw(
        'printf \'@{m} ids %s %s\\n\' "$(id -u @{o} 2>/dev/null)" "$(getent group @{g} | cut -d: -f3)"; @{probe}',
        m=raw(MARK),
        o=owner,
        g=group,
        probe=probe_command(path),
    )


def probe(path: str, sensitive: bool = False) -> Operation[FileState]:
    """What is at ``path`` (read as root: the file may be a secret only root reads)."""
    return Operation(
        "file probe",
        probe_command(path),
        lambda a: parse_probe(a.stdout),
        sensitive=sensitive,
        what="reading %s" % path,
    )


def owner_probe(owner: str, group: str, path: str) -> Operation[Tuple[Optional[int], Optional[int], FileState]]:
    return Operation(
        "owner probe",
        owner_probe_command(owner, group, path),
        lambda a: parse_owner_probe(a.stdout),
        sensitive=True,
        what="reading %s" % path,
    )


def parse_owner_probe(output: str) -> Tuple[Optional[int], Optional[int], FileState]:
    first, _sep, rest = output.partition("\n")
    match = _IDS.match(first.rstrip("\r\n"))  # an unknown group ends the line with its separator
    if not match:
        raise ValueError("unexpected answer from the owner probe: %r" % first[:100])
    uid, gid = match.group("uid"), match.group("gid")
    return (int(uid) if uid else None), (int(gid) if gid else None), parse_probe(rest)


def write_command(path: str, owner: str, group: str, mode: int, dir_mode: int) -> Command:
    """Install standard input at ``path`` atomically with ``owner:group`` and ``mode``; create the
    parent directory with ``dir_mode`` if it is missing."""
    return raw(
        "set -e; umask 077; d=$(dirname @{p}); "
        'if [ ! -d "$d" ]; then mkdir -p "$d"; chmod @{dm} "$d"; fi; '
        't=$(mktemp "$d/.nixfleet-new.XXXXXX"); trap \'rm -f "$t"\' EXIT; '
        'cat > "$t"; chown @{og} "$t"; chmod @{m} "$t"; mv -f "$t" @{p}; trap - EXIT',
        p=path,
        og="%s:%s" % (owner, group),
        m="%04o" % mode,
        dm="%04o" % dir_mode,
    )


def fix_permissions_command(path: str, owner: str, group: str, mode: int) -> Command:
    return argv("chown", "%s:%s" % (owner, group), path).and_then(argv("chmod", "%04o" % mode, path))


def backup_command(path: str, suffix: str) -> Command:
    """Copy ``path`` to ``path.SUFFIX~`` keeping mode and owner; prints the backup's path."""
    backup = "%s.%s~" % (path, suffix)
    return argv("cp", "-p", path, backup).and_then(argv("echo", backup))
