# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Deleting a profile's old generations and collecting the store's garbage on a target (POSIX sh).

``prune_command`` is one script, run as root: it takes the host's deploy lock (so no deploy is
between its probe and its switch), checks that the profile and the running system are still what
the controller planned with, deletes the planned generations that still exist, refreshes the boot
entries of the system profile, and then, when asked, runs ``nix-store --gc`` with the running,
booted and protected systems held by temporary GC roots. Its exit code says which step failed
(``RC_*``); ``parse_freed`` reads what Nix says it freed (its wording differs across 2.8–2.34).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import List, Optional, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generations import (
    RUNNING_SYSTEM,
    generation_link,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_operation import Answer, Operation
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import (
    Command,
    argv,
    lines,
    probe_field,
    raw,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction.command import LOCK_FILE
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction.protocol import Verdict

GC_ROOTS = "/nix/var/nix/gcroots"
ROOT_PREFIX = "nixfleet-gc-keep-"
STORE_DIR = "/nix/store"

RC_LOCKED = Verdict.LOCKED.code  # the deploy lock was held (the transaction's own code)
RC_STALE = Verdict.STALE.code  # the profile or the running system changed since they were read
RC_DELETE = 77  # nix-env --delete-generations failed
RC_BOOT = 79  # refreshing the boot entries failed
RC_GC = 80  # nix-store --gc failed

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+)\s*([KMGT]?)i?B?\s*$", re.IGNORECASE)
# "3 store paths deleted, 2.86 MiB freed" (Nix 2.8, 2.26), "1 store paths deleted, 2.9 MiB freed",
# "0 store paths deleted, 0.0 KiB freed" (2.34).
_FREED = re.compile(r"(\d+) store paths? deleted, ([\d.]+) ?([KMGTPE]i?B|B|bytes?) freed")
_FREED_UNITS = {
    "B": 1,
    "BYTE": 1,
    "BYTES": 1,
    "KIB": 1 << 10,
    "MIB": 1 << 20,
    "GIB": 1 << 30,
    "TIB": 1 << 40,
    "PIB": 1 << 50,
    "EIB": 1 << 60,
    "KB": 1 << 10,
    "MB": 1 << 20,
    "GB": 1 << 30,
    "TB": 1 << 40,
}


def parse_size(value) -> int:
    """Bytes from ``value``: a whole number of bytes, or one with K, M, G or T (powers of 1024,
    as Nix reads ``--max-freed``), e.g. ``10G``."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError("a size must not be negative, not %r" % value)
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError("%r is not a size (a whole number of bytes, or with K, M, G or T: 512M, 10G)" % (value,))
    return int(match.group(1)) * _UNITS[match.group(2).upper()]


@dataclass(frozen=True)
class Freed:
    """What ``nix-store --gc`` says it did (bytes to Nix's printed precision)."""

    paths: int
    bytes: int


def parse_freed(output: str) -> Optional[Freed]:
    """The last ``N store paths deleted, X freed`` line in ``output``, or None."""
    found = None
    for match in _FREED.finditer(output):
        found = match
    if found is None:
        return None
    unit = found.group(3).upper()
    return Freed(paths=int(found.group(1)), bytes=int(float(found.group(2)) * _FREED_UNITS[unit]))


def parse_store_space(output: str) -> Optional[int]:
    """Bytes free on the store's file system, from the ``store_free`` line ``store_space_command`` printed."""
    value = probe_field(output, "store_free")
    return int(value) * 1024 if value and value.isdigit() else None


def store_space_command() -> Command:
    """Print ``store_free<TAB>KiB available`` for the file system of the store (POSIX ``df -P``)."""
    return raw(
        "printf 'store_free\\t%s\\n' \"$(df -Pk @{store} 2>/dev/null | tail -n 1 | tr -s ' ' | cut -d ' ' -f 4)\"",
        store=STORE_DIR,
    )


def dead_paths_command() -> Command:
    """Print ``dead_paths<TAB>N``: how many store paths a collection would delete now."""
    return raw(
        "printf 'dead_paths\\t%s\\n' \"$(nix-store --gc --print-dead 2>/dev/null | grep -c @{pattern})\"",
        pattern="^%s/" % STORE_DIR,
    )


@dataclass(frozen=True)
class PruneRun:
    """What the controller decided for one host."""

    profile: str
    delete: Tuple[int, ...]
    expected_link: str  # what ``readlink PROFILE`` printed when the controller planned ('' for none)
    expected_running: str  # what ``readlink /run/current-system`` printed ('' for none)
    owner: str
    lock_wait: int = 60
    boot_entries: bool = False  # run the current system's switch-to-configuration boot after deleting
    collect: bool = False
    max_freed: Optional[int] = None
    roots: Tuple[str, ...] = ()  # store paths held by temporary GC roots while collecting
    lock_file: str = LOCK_FILE


def _delete_steps(run: PruneRun) -> List[Command]:
    # Only the planned generations that still exist are deleted ("$@").
    steps = [raw("set --")] + [
        raw('[ -L @{link} ] && set -- "$@" @{n}', link=generation_link(run.profile, n), n=n) for n in run.delete
    ]
    steps += [
        raw(
            'if [ $# -gt 0 ]; then @{delete} "$@" >&2 || exit @{rc}; fi',
            delete=argv("nix-env", "-p", run.profile, "--delete-generations"),
            rc=RC_DELETE,
        ),
        raw("printf 'deleted\\t%s\\n' \"$*\""),
    ]
    if run.boot_entries:
        stc = run.profile + "/bin/switch-to-configuration"
        steps.append(
            raw(
                "if [ $# -gt 0 ] && [ -x @{stc} ]; then @{boot} >&2 9>&- || exit @{rc}; fi",
                stc=stc,
                boot=argv(stc, "boot"),
                rc=RC_BOOT,
            )
        )
    return steps


def _collect_steps(run: PruneRun) -> List[Command]:
    forget = raw("rm -f @{prefix}*", prefix="%s/%s" % (GC_ROOTS, ROOT_PREFIX))  # the glob is the raw part
    steps = [forget]
    for index, path in enumerate(run.roots):
        root = "%s/%s%d" % (GC_ROOTS, ROOT_PREFIX, index)
        steps.append(raw("[ -e @{path} ] && @{link}", path=path, link=argv("ln", "-sfn", path, root)))
    limit = ["--max-freed", str(run.max_freed)] if run.max_freed is not None else []
    steps += [
        raw("gc=$(@{gc} 2>&1); grc=$?; @{forget}", gc=argv("nix-store", "--gc", *limit), forget=forget),
        raw("if [ $grc -ne 0 ]; then printf '%s\\n' \"$gc\" >&2; exit @{rc}; fi", rc=RC_GC),
        raw("printf '%s\\n' \"$gc\" | grep 'freed' | tail -n 1"),
    ]
    return steps


def prune_command(run: PruneRun) -> Command:
    """The script; prints ``deleted<TAB>numbers``, Nix's freed line and ``store_free``."""
    owner = run.lock_file + ".owner"
    steps = [
        raw("exec 9>>@{lock}", lock=run.lock_file),
        raw(
            "if ! flock -w @{wait} 9; then printf 'holder\\t%s\\n' \"$(head -n 1 @{owner} 2>/dev/null)\"; exit @{rc}; fi",
            wait=run.lock_wait,
            owner=owner,
            rc=RC_LOCKED,
        ),
        raw("echo @{who} > @{owner}", who=run.owner, owner=owner),
        raw(
            "now=$(readlink @{p} 2>/dev/null || true); running=$(readlink @{running} 2>/dev/null || true)",
            p=run.profile,
            running=RUNNING_SYSTEM,
        ),
        raw(
            'if [ "$now" != @{link} ] || [ "$running" != @{expected_running} ]; then printf \'holder\\t%s\\n\' "$now"; '
            "exit @{rc}; fi",
            link=run.expected_link,
            expected_running=run.expected_running,
            rc=RC_STALE,
        ),
    ]
    steps += _delete_steps(run)
    if run.collect:
        steps += _collect_steps(run)
    steps.append(store_space_command())
    # One brace group: the shell parses all of it before running any of it, and nothing follows the
    # closing brace (Ansible appends `` && sleep 0`` to a command).
    return raw("{\n@{steps}\n}", steps=lines(steps))


def protected_roots(running: Optional[str], booted: Optional[str], protect: Tuple[str, ...]) -> Tuple[str, ...]:
    """The systems a collection must not take: running, booted and protected, each once."""
    roots = []
    for path in (running, booted) + tuple(protect):
        if path and path not in roots:
            roots.append(path)
    return tuple(roots)


class PruneStatus(Enum):
    """How the prune script ended (its exit-code protocol)."""

    DONE = "done"  # exit 0
    LOCKED = "locked"  # exit RC_LOCKED: another deploy held the lock for lock_wait seconds
    STALE = "stale"  # exit RC_STALE: the profile or the running system changed since they were read
    DELETE_FAILED = "deleting the generations failed"  # exit RC_DELETE
    BOOT_FAILED = "refreshing the boot entries (switch-to-configuration boot) failed"  # exit RC_BOOT
    GC_FAILED = "the garbage collection (nix-store --gc) failed"  # exit RC_GC
    FAILED = "failed"  # any other exit code


_PRUNE_EXITS = {
    0: PruneStatus.DONE,
    RC_LOCKED: PruneStatus.LOCKED,
    RC_STALE: PruneStatus.STALE,
    RC_DELETE: PruneStatus.DELETE_FAILED,
    RC_BOOT: PruneStatus.BOOT_FAILED,
    RC_GC: PruneStatus.GC_FAILED,
}


@dataclass(frozen=True)
class Pruned:
    status: PruneStatus
    rc: int
    stderr: str
    holder: Optional[str]  # LOCKED: who holds the lock; STALE: what the profile is now
    freed: Optional[Freed]
    free_bytes: Optional[int]  # on the store's file system afterwards


def parse_prune(answer: Answer) -> Pruned:
    return Pruned(
        _PRUNE_EXITS.get(answer.rc, PruneStatus.FAILED),
        answer.rc,
        answer.stderr,
        probe_field(answer.stdout, "holder"),
        parse_freed(answer.stdout),
        parse_store_space(answer.stdout),
    )


def prune(run: PruneRun) -> Operation[Pruned]:
    """The prune script as one operation (as root: it takes the deploy lock and deletes)."""
    return Operation("prune", prune_command(run), parse_prune)
