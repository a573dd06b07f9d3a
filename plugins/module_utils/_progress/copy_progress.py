# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""How far a ``nix copy`` got, read from its log (``--log-format internal-json``), and what the
target still lacks once a copy stalled.

Nix prints one ``@nix {json}`` line per log event: ``start``/``stop`` of activities (type 103
``copying N paths``; type 100, one per path, ``fields`` ``[path, from, to]``), ``result`` (progress,
also forwarded from the target's daemon while it substitutes) and ``msg`` (what Nix would print
without the JSON: its warnings and errors), read by ``module_utils._progress.nix_log`` (``CopyLog``): the paths
whose transfer started and ended, and the log as the text Nix prints by default (error messages are
matched on it). Lines that are not Nix's own (ssh, the copy lock's wrapper on the target) are kept as they are.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

from ansible_collections.nixfleet.nixos.plugins.module_utils._progress import nix_log
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command, raw

LOG_FORMAT = nix_log.LOG_FORMAT
DEFAULT_STALL_TIMEOUT = 300  # seconds without progress before a copy is stopped (0: never)
SHOWN_PATHS = 10  # paths a message names at most
QUERY_TIMEOUT = 30  # seconds the target may take to say which paths it lacks

# What a ``nix copy`` said so far: the one reader of Nix's log (module_utils._progress.nix_log) - ``missing``
# (how many paths the target lacked), ``started``/``finished``/``in_flight`` paths, ``text``/``stderr``.
CopyLog = nix_log.NixLog


def _paths(count: int) -> str:
    return "%d path%s" % (count, "" if count == 1 else "s")


def _mib(count: int) -> str:
    return "%.1f MiB" % (count / 1048576.0)


def _listed(paths: Sequence[str]) -> str:
    shown = ", ".join(paths[:SHOWN_PATHS])
    return shown + (", and %d more" % (len(paths) - SHOWN_PATHS) if len(paths) > SHOWN_PATHS else "")


def how_far(log: CopyLog, sent_bytes: Optional[int]) -> str:
    """``it had sent 1 of the 3 paths the host lacked (12.0 MiB) and was sending /nix/store/…``."""
    lacked = "the %s the host lacked" % _paths(log.missing) if log.missing is not None else "the paths the host lacked"
    said = "it had sent %d of %s" % (len(log.finished), lacked)
    if sent_bytes is not None:
        said += " (%s written)" % _mib(sent_bytes)
    if log.in_flight:
        said += " and was sending %s" % _listed(log.in_flight)
    elif log.missing is None and not log.started:
        said = "it had sent nothing yet (the host's Nix had not said which paths it lacks)"
    return said


def lacking_command(timeout: int = QUERY_TIMEOUT) -> Command:
    """Print which of the store paths on stdin (one a line) are not valid in the host's store, each
    attempt within ``timeout`` seconds: first reading the store itself (as root: no daemon needed, which
    may be what hangs), then through the host's usual store (exit 124 when it does not answer; 3
    without ``timeout``)."""
    return raw(
        "command -v timeout >/dev/null 2>&1 || exit 3; p=$(cat); "
        "if out=$(printf '%s\\n' \"$p\" | timeout @{t} xargs nix-store --store local --check-validity "
        "--print-invalid 2>/dev/null); then printf '%s\\n' \"$out\"; "
        "else printf '%s\\n' \"$p\" | timeout @{t} xargs nix-store --check-validity --print-invalid; fi",
        t=timeout,
    )


def parse_lacking(stdout: str) -> List[str]:
    return [line.strip() for line in stdout.splitlines() if line.strip().startswith("/")]


def stalled_message(
    store: str, seconds: int, log: CopyLog, sent_bytes: Optional[int], lacking: Optional[List[str]]
) -> str:
    """What the user reads when a copy stalled: for how long, how far it got, what is still missing."""
    if lacking is None:
        still = "the host's store did not say which paths it still lacks"
    elif lacking:
        still = "the host still lacks %s: %s" % (_paths(len(lacking)), _listed(lacking))
    else:
        still = "the host now has every path"
    return (
        "nix copy to %s made no progress for %d s (copy_stall_timeout) and was stopped: the host's Nix stopped "
        "answering (a stuck or stopped nix-daemon?); %s; %s; nothing was switched, the next run copies what is "
        "still missing" % (store, seconds, how_far(log, sent_bytes), still)
    )
