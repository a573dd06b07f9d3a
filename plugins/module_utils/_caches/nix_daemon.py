# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Finding and restarting the ``nix-daemon`` that serves this host's store, and reading its running
configuration, in POSIX shell.

The daemon is the process (``nix-daemon``, or ``nix`` running ``nix daemon``) that is the host's own
(``own_processes``: our root, and our store's socket is the file it sees there) and listens on
``/nix/var/nix/daemon-socket/socket``: the socket ``/proc/net/unix`` lists as listening under that
name is one of its open files. Its workers (one per client) and clients hold no listening socket,
and a daemon of another host, container or chroot, which ``/proc`` may show too, is not the host's.
When systemd runs it (it is the main process of the ``.service`` unit its cgroup names, as systemd
says) it is restarted with ``systemctl restart UNIT``; otherwise that process, and only it, is stopped by PID
and a new ``nix-daemon`` started in its place. With no daemon for this store (a single-user Nix, or a
socket-activated one that has not started yet) nothing is restarted and no daemon is started.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote import own_processes
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_operation import Operation
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command, argv, raw


MARK = "nixfleet-nix-daemon"
STORE_SOCKET = "/nix/var/nix/daemon-socket/socket"
_UNIT = re.compile(r"^[A-Za-z0-9:_.@\\-]+\.service$")


def _finder(socket: str) -> Command:
    """Shell function ``nf_daemons``: one ``<mark> systemd PID UNIT`` or ``<mark> process PID`` line
    per daemon of this store listening on ``socket``; false when there is none."""
    return raw(
        "@{ours}; nf_daemons() { "
        "ls=$(awk -v s=@{socket} '$NF == s && $4 == \"00010000\" { print $7 }' /proc/net/unix 2>/dev/null); "
        'found=1; [ -n "$ls" ] || return 1; '
        "for d in /proc/[0-9]*; do p=${d#/proc/}; "
        'case "$(cat "$d/comm" 2>/dev/null)" in nix-daemon|nix) ;; *) continue;; esac; '
        'nf_ours "$p" @{socket} || continue; listening=; '
        'for f in "$d"/fd/*; do l=$(readlink "$f" 2>/dev/null) || continue; '
        'case "$l" in socket:*) i=${l#socket:?}; i=${i%?}; '
        'for x in $ls; do [ "$x" = "$i" ] && listening=1; done;; esac; done; '
        '[ -n "$listening" ] || continue; '
        "unit=$(sed -n -e 's#^0::##p' -e 's#^[0-9]*:name=systemd:##p' \"$d/cgroup\" 2>/dev/null "
        "| tr / '\\n' | grep '\\.service$' | tail -n 1); "
        'if [ -n "$unit" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 && '
        '[ "$(systemctl show -p MainPID --value "$unit" 2>/dev/null)" = "$p" ]; '
        'then echo "@{m} systemd $p $unit"; else echo "@{m} process $p"; fi; found=0; done; '
        "return $found; }",
        ours=own_processes.function(),
        socket=socket,
        m=raw(MARK),
    )


def status_command(socket: str = STORE_SOCKET) -> Command:
    """Print the daemons of this store (``_finder``), or ``<mark> none``."""
    return raw("@{finder}; nf_daemons || echo '@{m} none'", finder=_finder(socket), m=raw(MARK))


STATUS_COMMAND = status_command()

_STATUS = re.compile(r"^%s (?:(?P<none>none)|(?P<kind>systemd|process) (?P<pid>\d+)(?: (?P<unit>\S+))?)$" % MARK)


@dataclass(frozen=True)
class DaemonStatus:
    kind: str  # systemd, process or none
    pid: Optional[int] = None
    unit: Optional[str] = None  # the systemd unit that runs it (kind systemd)

    @property
    def running(self) -> bool:
        return self.kind != "none"


def parse_status(output: str) -> DaemonStatus:
    """The first daemon the status command found."""
    for line in output.splitlines():
        match = _STATUS.match(line.strip())
        if not match:
            continue
        if match.group("none"):
            return DaemonStatus("none")
        unit = match.group("unit")
        if match.group("kind") == "systemd" and not (unit and _UNIT.fullmatch(unit)):
            raise ValueError("unexpected systemd unit from the nix-daemon probe: %r" % line[:100])
        return DaemonStatus(match.group("kind"), int(match.group("pid")), unit)
    raise ValueError("unexpected answer from the nix-daemon probe: %r" % output[:100])


def daemon_status() -> Operation[DaemonStatus]:
    return Operation(
        "nix-daemon status", STATUS_COMMAND, lambda a: parse_status(a.stdout), what="looking for nix-daemon"
    )


def restart(running: DaemonStatus, timeout: int = 10) -> Operation[DaemonStatus]:
    """Restart the daemon ``running`` describes; answers the new daemon's status."""
    return Operation(
        "nix-daemon restart",
        restart_command(running, timeout),
        lambda a: parse_status(a.stdout),
        what="restarting nix-daemon",
    )


def restart_command(status: DaemonStatus, timeout: int = 10, socket: str = STORE_SOCKET) -> Command:
    """Restart the daemon ``status`` found; prints the new daemon's status once it answers."""
    if status.kind not in ("systemd", "process") or status.pid is None:
        raise ValueError("no running nix-daemon to restart")
    finder = _finder(socket)
    if status.kind == "systemd":
        if not (status.unit and _UNIT.fullmatch(status.unit)):
            raise ValueError("not a systemd service unit: %r" % status.unit)
        stop_start = raw("set -e; @{restart}; ", restart=argv("systemctl", "restart", status.unit))
    else:
        # Still the daemon the probe found (not a process that took its PID since)? Then only it is
        # stopped. A daemon that exited but whose parent has not reaped it yet (a zombie) has stopped.
        stop_start = raw(
            "set -e; daemon=$(command -v nix-daemon); "
            'nf_daemons | grep -qx "@{m} process @{pid}" || '
            "{ echo 'nix-daemon (pid @{pid}) is no longer the daemon of this store; nothing was restarted' >&2; exit 1; }; "
            "kill @{pid}; n=0; "
            "while kill -0 @{pid} 2>/dev/null && [ \"$(cut -d' ' -f3 @{stat} 2>/dev/null)\" != Z ]; do "
            "n=$((n+1)); "
            "[ $n -le @{ticks} ] || { echo 'the old nix-daemon (pid @{pid}) did not stop' >&2; exit 1; }; "
            "sleep 0.1; done; "
            'setsid "$daemon" </dev/null >/dev/null 2>&1 & ',
            m=raw(MARK),
            pid=status.pid,
            stat="/proc/%d/stat" % status.pid,
            ticks=timeout * 10,
        )
    # Up once it listens and its socket answers: a client (a copy as a non-root user) connecting
    # before then is refused.
    wait = raw(
        "n=0; until nf_daemons >/dev/null; do n=$((n+1)); "
        "[ $n -le @{ticks} ] || { echo 'the new nix-daemon did not start' >&2; exit 1; }; sleep 0.1; done; "
        "until @{ping}; do n=$((n+1)); "
        "[ $n -le @{ping_ticks} ] || { echo 'the new nix-daemon does not answer on its socket' >&2; exit 1; }; "
        "sleep 0.1; done; nf_daemons",
        ticks=timeout * 10,
        ping=PING_COMMAND,
        ping_ticks=timeout * 20,
    )
    return raw("@{finder}; @{stop_start}@{wait}", finder=finder, stop_start=stop_start, wait=wait)


# Succeeds when the daemon answers on its socket (Nix 2.19+ also calls it "store info").
PING_COMMAND = raw(
    "{ nix --extra-experimental-features nix-command store ping --store daemon || "
    "nix --extra-experimental-features nix-command store info --store daemon; } >/dev/null 2>&1"
)


# The running configuration as Nix sees it (Nix 2.20+ renamed show-config to config show).
SHOW_CONFIG_COMMAND = raw(
    "nix --extra-experimental-features nix-command config show --json 2>/dev/null || "
    "nix --extra-experimental-features nix-command show-config --json"
)
