# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Pushes to one host, one at a time: the remote end of ``nix copy --to ssh-ng://`` behind a lock.

Nix loses the daemon protocol's framing when two copies add the same path to one store at once
(NixOS/nix#6253, #7720; seen with Debian's 2.8): the copy that waited for the path's lock finds it
valid, leaves the NAR unread, and fails with ``not an absolute path: 'nix-archive-1'``. Two deploys
of one host (two operators, a retried AWX job) do exactly that. So the remote program that Nix
starts on the target (``nix-daemon --stdio``, or ``nix-store --serve --write`` for ``ssh://``) is
wrapped: it first takes ``flock`` on a file under /nix/var/nix, waiting at most ``wait`` seconds.
A copy that waited then finds the paths valid and sends nothing.

Before that it ends this user's *stale* copies: a ``nix-daemon --stdio`` (or ``nix-store --serve``)
whose ssh session is gone (no ``sshd`` among its ancestors). A copy cut off half-way (Ctrl-C, a
dead controller) leaves one behind on hosts with a nix-daemon: the proxy ``nix-daemon --stdio``
that a non-root user gets waits for the daemon's answer while the daemon's worker waits for the
rest of the NAR, holding the path's lock, forever (seen with Nix 2.26); the next copy of that path
would hang on the lock. Only the connecting user's processes of this host (``own_processes``: not
another host's, container's or chroot's that ``/proc`` shows too) are touched (``kill -9``: Nix reads
on without checking for signals), and the daemon's worker then sees the end of its connection,
drops the half-added path and releases its lock.

While it waits for the lock it says so on stderr, which Nix passes on to the controller, every
``heartbeat`` seconds: the controller's stall watchdog (``copy_watch``) takes that for progress, so a
copy that waits its turn is not mistaken for one that hangs. It hands Nix the copy's ``token``
(``NIXFLEET_COPY`` in its environment): a copy the controller stopped for making no progress is then
ended on the host too (``end_copy_command``), precisely that one. Its ssh session may well live on
(the channel of Ansible's ControlMaster connection), and through a nix-daemon its proxy would keep
the daemon's worker, and the half-sent path's lock, for ever.

The wrapper is ``sh -c 'SCRIPT' PROGRAM`` (Nix appends the program's arguments), so it works
whatever the remote user's login shell is; it contains no run of whitespace that matters, since
newer Nix splits ``remote-program`` into words and ssh joins them again with single spaces. A user
who may not create the lock file (no root) or a target without ``flock`` copies without it.
"""

from __future__ import annotations

import re
from urllib.parse import quote as url_quote

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote import own_processes
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command, argv, raw

LOCK_FILE = "/nix/var/nix/nixfleet-copy.lock"
DEFAULT_WAIT = 600
DEFAULT_HEARTBEAT = 30  # seconds between the "still waiting" lines
RC_LOCKED = 75
TOKEN_VARIABLE = "NIXFLEET_COPY"
_TOKEN = re.compile(r"^[0-9a-f]{8,64}$")
# Printed on the target's stderr (which Nix passes on), after "nixfleet: ", when the lock was not
# free in time.
LOCKED_MARK = "another copy to this host held"
PROGRAMS = {"ssh-ng": "nix-daemon", "ssh": "nix-store"}


def stale_copies_reaper() -> Command:
    """Shell (one line, run by the wrapper where ``$0`` is the Nix program) that ``kill -9``s the
    connecting user's ``$0 --stdio`` / ``$0 --serve`` processes of this host's store whose ssh session
    is gone: none of their ancestors is an ``sshd`` (``sshd``, ``sshd-session``). Linux ``/proc``;
    silent elsewhere."""
    return raw(
        '@{ours}; nf_ppid() { s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }; set -- $s; echo "$2"; }; '
        'for d in /proc/[0-9]*; do p=${d#/proc/}; [ "$p" != $$ ] && [ -O "$d" ] || continue; '
        'c=$(tr "\\000" " " 2>/dev/null < "$d/cmdline") || continue; '
        'case "$c" in "$0 "*"--stdio "*|"$0 "*"--serve "*) ;; *) continue;; esac; '
        'nf_ours "$p" @{store} || continue; '
        'a=$p; live=; while a=$(nf_ppid "$a") && [ "${a:-0}" -gt 1 ]; do '
        'case "$(cat "/proc/$a/comm" 2>/dev/null)" in sshd*) live=1; break;; esac; done; '
        '[ -n "$live" ] || kill -9 "$p" 2>/dev/null; done',
        ours=own_processes.function(),
        store=own_processes.STORE_DIR,
    )


def heartbeat_for(stall_timeout: int) -> int:
    """Seconds between the wrapper's "still waiting" lines, well within ``stall_timeout`` (0: none)."""
    return DEFAULT_HEARTBEAT if stall_timeout <= 0 else max(1, min(DEFAULT_HEARTBEAT, stall_timeout // 3))


def _token(token: str) -> str:
    if not _TOKEN.fullmatch(token):
        raise ValueError("a copy's token is 8 to 64 lower-case hex digits, not %r" % token)
    return token


def wrapper_script(
    wait: int = DEFAULT_WAIT, lock_file: str = LOCK_FILE, heartbeat: int = DEFAULT_HEARTBEAT, token: str = ""
) -> Command:
    """The POSIX shell script that ends this user's stale copies (``stale_copies_reaper``), takes
    the lock (and writes who holds it next to it), then ``exec``s ``"$0" "$@"`` (the Nix program),
    with ``token`` (when given) in its environment. While the lock is held it says so every
    ``heartbeat`` seconds; after ``wait`` seconds it fails naming the holder."""
    if wait < 0:
        raise ValueError("the copy lock's wait must be >= 0 seconds, not %d" % wait)
    if heartbeat < 1:
        raise ValueError("the copy lock's heartbeat must be >= 1 second, not %d" % heartbeat)
    step = min(heartbeat, wait)
    marked = raw("export @{var}=@{token}; ", var=raw(TOKEN_VARIABLE), token=_token(token)) if token else raw("")
    return raw(
        '@{reaper}; L=@{lock}; [ -d "${L%/*}" ] || mkdir -p "${L%/*}" 2>/dev/null; '
        'if command -v flock >/dev/null && ( : >>"$L" ) 2>/dev/null; then '
        'exec 9>>"$L"; if ! flock -n 9; then w=0; '
        'echo "nixfleet: waiting for the copy lock $L: $(cat "$L.owner" 2>/dev/null)" >&2; '
        "until flock -w @{step} 9; do w=$((w+@{step})); if [ $w -ge @{wait} ]; then "
        'echo "nixfleet: @{mark} $L for @{wait} s: $(cat "$L.owner" 2>/dev/null)" >&2; exit @{rc}; fi; '
        'echo "nixfleet: still waiting for the copy lock ($w s)" >&2; done; fi; '
        'echo "a copy from ${SSH_CLIENT%% *} since $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$L.owner"; '
        'fi; @{marked}exec "$0" "$@"',
        reaper=stale_copies_reaper(),
        lock=lock_file,
        wait=wait,
        step=step,
        mark=raw(LOCKED_MARK),
        rc=RC_LOCKED,
        marked=marked,
    )


def end_copy_command(token: str) -> Command:
    """``kill -9`` the login user's processes of this host that carry the copy's ``token`` (the Nix
    program the wrapper started: ``nix-daemon --stdio`` or ``nix-store --serve``); prints their PIDs.
    A daemon's worker then sees its client gone and drops the half-added path and its lock."""
    return raw(
        '@{ours}; for d in /proc/[0-9]*; do p=${d#/proc/}; [ "$p" != $$ ] && [ -O "$d" ] || continue; '
        'tr "\\000" "\\n" 2>/dev/null < "$d/environ" | grep -qx @{mark} || continue; '
        'nf_ours "$p" @{store} && kill -9 "$p" 2>/dev/null && echo "$p"; done; true',
        ours=own_processes.function(),
        mark="%s=%s" % (TOKEN_VARIABLE, _token(token)),
        store=own_processes.STORE_DIR,
    )


def remote_program(
    scheme: str,
    wait: int = DEFAULT_WAIT,
    lock_file: str = LOCK_FILE,
    heartbeat: int = DEFAULT_HEARTBEAT,
    token: str = "",
) -> str:
    """The value of the store URL's ``remote-program`` for ``scheme`` (``ssh-ng`` or ``ssh``)."""
    if scheme not in PROGRAMS:
        raise ValueError("unsupported ssh store scheme %r" % scheme)
    return argv("sh", "-c", wrapper_script(wait, lock_file, heartbeat, token), PROGRAMS[scheme]).text


def locked_message(stderr: str) -> str:
    """What the wrapper said when the lock was not free in time ("" when it did not say so)."""
    for line in (stderr or "").splitlines():
        if LOCKED_MARK in line:
            return line[line.index(LOCKED_MARK) :].strip()
    return ""


def store_url(
    base: str,
    scheme: str,
    wait: int = DEFAULT_WAIT,
    lock_file: str = LOCK_FILE,
    heartbeat: int = DEFAULT_HEARTBEAT,
    token: str = "",
) -> str:
    """``base`` (``ssh-ng://user@host``) with the locking ``remote-program`` as its query."""
    program = remote_program(scheme, wait, lock_file, heartbeat, token)
    return "%s?remote-program=%s" % (base, url_quote(program, safe=""))
