# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""The audit trail on each host: who put which system there, when, and how it ended.

Every generation change (switch, boot, test, rollback) appends one JSON line to ``AUDIT_LOG`` on the
host, written by the transaction script itself when it knows the outcome (``done``, ``confirmed``,
``failed-restored``, ``rolled-back``), so a deploy whose controller died is on record too. The
controller renders the fields it knows (``record_head``: ASCII JSON, no newline, so no value from a
flake or an inventory can break the line or the shell word it travels in); the script adds the
status, exit code, generation and time, and appends the line with one ``write`` under the deploy
lock (``O_APPEND``, far below ``PIPE_BUF``: never interleaved). ``read_command`` and
``parse_records`` read the last records back; ``explaining_record`` says which record explains the
system a host runs, if any.

The log is bounded: before it appends, the script (still under the deploy lock, so no other writer
runs) renames a log that holds ``keep`` records or more to ``AUDIT_LOG.1`` (one ``rename``: the old
file is whole under its new name, replacing the previous ``.1``) and the record starts a new log.
So the host keeps at least the last ``keep`` records (and at most ``2 * keep``), whatever else is
lost on the way; readers read ``.1`` then the log, and read again should a rotation happen while
they read.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit, urlunsplit
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes.flake_ref import ref_rev
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generation_commands import SETS_RUNNING
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command, raw
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction.protocol import words

AUDIT_LOG = "/nix/var/nixfleet/audit.log"
ROTATED_SUFFIX = ".1"  # the previous records, once the log held ``keep`` of them
DEFAULT_KEEP = 1000  # records a host keeps at least
RECORDED = words(audited=True)  # outcomes that changed something
KEPT = words(audited=True, kept=True)  # the new system stayed
UNDONE = words(audited=True, undone=True)  # the host went back to what it ran before
MAX_FIELD = 512
PREFIX = "audit"


@dataclass(frozen=True)
class Deployer:
    """Who deploys: the controller's user and host, and the AWX job and user when AWX runs it."""

    by: str  # user@controller
    awx_job: Optional[str] = None
    awx_user: Optional[str] = None
    flake: Optional[str] = None

    def describe(self) -> str:
        awx = ", AWX job %s" % self.awx_job if self.awx_job else ""
        awx += " by %s" % self.awx_user if self.awx_user else ""
        return self.by + awx


def _short(value: Optional[Any]) -> Optional[str]:
    return None if value is None else str(value)[:MAX_FIELD]


def without_credentials(ref: Optional[str]) -> Optional[str]:
    """``ref`` without a URL's user and password (the log is readable by every user of the host):
    ``git+https://user:token@host/x`` → ``git+https://host/x``."""
    if not ref:
        return ref
    try:
        parts = urlsplit(ref)
    except ValueError:
        return None
    if "@" not in parts.netloc:
        return ref
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def record_head(
    deployer: Deployer,
    host: str,
    kind: str,
    action: str,
    path: str,
    previous: Optional[str],
    previous_generation: Optional[int] = None,
    profile: Optional[str] = None,
) -> str:
    """The controller's part of a record (``kind``: deploy or rollback; ``action``: what
    switch-to-configuration did), a JSON object without its closing brace. ``profile``: a deploy-rs
    profile besides system, whose records never explain the running system."""
    fields = {
        "host": _short(host),
        "kind": kind,
        "action": action,
        "path": path,
        "previous": previous,
        "previous_generation": previous_generation,
        "by": _short(deployer.by),
        "awx_job": _short(deployer.awx_job),
        "awx_user": _short(deployer.awx_user),
        "flake": _short(without_credentials(deployer.flake)),
        "rev": _short(ref_rev(deployer.flake)),
    }
    if profile:
        fields["profile"] = _short(profile)
    text = json.dumps(fields, ensure_ascii=True, sort_keys=True)
    return text[:-1]


def check_keep(keep: int) -> int:
    if keep < 1:
        raise ValueError("audit_log_keep must be at least 1 record, not %d" % keep)
    return keep


def append_function() -> Command:
    """Shell function ``audit HEAD PROFILE LOG KEEP STATUS [RC]`` of the transaction script
    (``_transaction/deploy.sh``): rotate ``LOG`` once it holds ``KEEP`` records, then append the record,
    ``HEAD`` (``record_head``) completed (a failure to write never fails the deploy). Called under the
    deploy lock. The generation is ``PROFILE``'s current one, read when the outcome is known."""
    return raw(
        'audit() { g=$(readlink "$2" 2>/dev/null); g=${g%-link}; g=${g##*-}; '
        'case "$g" in \'\'|*[!0-9]*) g=null;; esac; r=${6:-null}; case "$r" in *[!0-9]*) r=null;; esac; '
        'mkdir -p "$(dirname "$3")" 2>/dev/null; '
        'n=$(wc -l < "$3" 2>/dev/null) || n=0; '
        '[ "${n:-0}" -lt "$4" ] || mv -f "$3" "$3@{rotated}" 2>/dev/null || true; '
        'printf \'%s,"status":"%s","rc":%s,"generation":%s,"time":%s}\\n\' "$1" "$5" "$r" '
        '"$g" "$(date +%s)" >> "$3" 2>/dev/null || true; }',
        rotated=raw(ROTATED_SUFFIX),
    )


def read_command(count: int = 10, log: str = AUDIT_LOG) -> Command:
    """Print the last ``count`` records, across the rotated log and the log, each as
    ``audit<TAB>line``; read again (up to 3 times) when a rotation replaced the log meanwhile."""
    return raw(
        "i=0; while :; do a=$(ls -di @{log} 2>/dev/null); "
        "out=$(cat @{rotated} @{log} 2>/dev/null | tail -n @{count}); "
        '[ "$(ls -di @{log} 2>/dev/null)" != "$a" ] && [ $i -lt 3 ] || break; i=$((i+1)); done; '
        '[ -z "$out" ] || printf \'%s\\n\' "$out" | while IFS= read -r l; do printf \'@{prefix}\\t%s\\n\' "$l"; done',
        count=int(count),
        log=log,
        rotated=log + ROTATED_SUFFIX,
        prefix=raw(PREFIX),
    )


@dataclass(frozen=True)
class AuditRecord:
    host: Optional[str]
    kind: str
    action: str
    path: Optional[str]
    previous: Optional[str]
    status: str
    rc: Optional[int]
    generation: Optional[int]
    previous_generation: Optional[int]
    time: Optional[int]
    by: Optional[str]
    awx_job: Optional[str] = None
    awx_user: Optional[str] = None
    flake: Optional[str] = None
    rev: Optional[str] = None
    profile: Optional[str] = None  # a deploy-rs profile besides system (None: the system)

    def to_dict(self) -> Dict[str, Any]:
        """The record as the host wrote it (a system record has no ``profile`` key)."""
        fields = dict(self.__dict__)
        if fields["profile"] is None:
            del fields["profile"]
        return fields

    @property
    def running_after(self) -> Optional[str]:
        """The system the host ran once this change ended (for changes of the running system)."""
        if self.status in KEPT:
            return self.path
        return self.previous if self.status in UNDONE else None


def parse_records(output: str) -> Tuple[List[AuditRecord], int]:
    """The records among ``audit<TAB>…`` lines, oldest first, and how many lines were not records."""
    records, malformed = [], 0
    for line in output.splitlines():
        key, sep, value = line.partition("\t")
        if not sep or key != PREFIX:
            continue
        try:
            data = json.loads(value)
            records.append(
                AuditRecord(
                    host=data.get("host"),
                    kind=str(data.get("kind", "deploy")),
                    action=str(data["action"]),
                    path=data.get("path"),
                    previous=data.get("previous"),
                    status=str(data["status"]),
                    rc=data.get("rc"),
                    generation=data.get("generation"),
                    previous_generation=data.get("previous_generation"),
                    time=data.get("time"),
                    by=data.get("by"),
                    awx_job=data.get("awx_job"),
                    awx_user=data.get("awx_user"),
                    flake=data.get("flake"),
                    rev=data.get("rev"),
                    profile=data.get("profile"),
                )
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            malformed += 1
    return records, malformed


def explaining_record(records: List[AuditRecord], running: Optional[str]) -> Optional[AuditRecord]:
    """The record that put ``running`` there: the last change of the running system ended with it,
    or a later ``boot`` change made it the next boot's system (then a reboot ran it). None: nothing
    on record explains what the host runs."""
    if not running:
        return None
    records = [r for r in records if r.profile is None]  # a deploy-rs profile's changes run no system
    last_running = None
    for index, record in enumerate(records):
        if record.action in SETS_RUNNING:
            last_running = index
    if last_running is not None and records[last_running].running_after == running:
        return records[last_running]
    start = last_running + 1 if last_running is not None else 0
    for record in reversed(records[start:]):
        if record.action == "boot" and record.status in KEPT and record.path == running:
            return record
    return None
