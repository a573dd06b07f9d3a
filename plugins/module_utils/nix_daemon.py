# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Finding and restarting a target's ``nix-daemon``, and reading its running configuration, in POSIX shell.

On systemd hosts the daemon is ``nix-daemon.service`` (maybe socket-activated); elsewhere it is
the ``nix-daemon`` process whose parent is not a ``nix-daemon`` (the others serve one client
each). A restart never touches anything but that process, found by PID.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils.remote_operation import Operation
from ansible_collections.nixfleet.nixos.plugins.module_utils.shell import Command, argv, raw


MARK = "nixfleet-nix-daemon"


def _status_command(none: Command) -> Command:
    """Prints ``<mark> systemd`` or one ``<mark> process PID`` per daemon; runs ``none`` when there is none."""
    return raw(
        "if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then "
        "if systemctl is-active --quiet nix-daemon.service || systemctl is-active --quiet nix-daemon.socket; "
        "then echo '@{m} systemd'; else @{none}; fi; "
        "else found=; for d in /proc/[0-9]*; do "
        "[ \"$(cat \"$d/comm\" 2>/dev/null)\" = nix-daemon ] || continue; "
        "pp=$(sed -n 's/^PPid:[[:space:]]*//p' \"$d/status\" 2>/dev/null); "
        "[ \"$(cat \"/proc/$pp/comm\" 2>/dev/null)\" = nix-daemon ] && continue; "
        "echo \"@{m} process ${d#/proc/}\"; found=1; done; [ -n \"$found\" ] || @{none}; fi", m=raw(MARK), none=none)


STATUS_COMMAND = _status_command(raw("echo '@{m} none'", m=raw(MARK)))

_STATUS = re.compile(r"^%s (?P<kind>systemd|none|process)(?: (?P<pid>\d+))?$" % MARK)


@dataclass(frozen=True)
class DaemonStatus:
    kind: str  # systemd, process or none
    pid: Optional[int] = None

    @property
    def running(self) -> bool:
        return self.kind != "none"


def parse_status(output: str) -> DaemonStatus:
    """The first daemon the status command found."""
    for line in output.splitlines():
        match = _STATUS.match(line.strip())
        if match:
            pid = match.group("pid")
            return DaemonStatus(match.group("kind"), int(pid) if pid else None)
    raise ValueError("unexpected answer from the nix-daemon probe: %r" % output[:100])


def daemon_status() -> Operation[DaemonStatus]:
    return Operation("nix-daemon status", STATUS_COMMAND, lambda a: parse_status(a.stdout), what="looking for nix-daemon")


def restart(running: DaemonStatus, timeout: int = 10) -> Operation[DaemonStatus]:
    """Restart the daemon ``running`` describes; answers the new daemon's status."""
    return Operation("nix-daemon restart", restart_command(running, timeout), lambda a: parse_status(a.stdout),
                     what="restarting nix-daemon")


def restart_command(status: DaemonStatus, timeout: int = 10) -> Command:
    """Restart the daemon ``status`` found; prints the new status."""
    if status.kind == "systemd":
        return argv("systemctl", "restart", "nix-daemon.service").and_then(STATUS_COMMAND)
    if status.kind != "process" or status.pid is None:
        raise ValueError("no running nix-daemon to restart")
    found = _status_command(raw("false"))  # succeeds once a daemon runs
    # A daemon that exited but whose parent has not reaped it yet (a zombie) has stopped.
    stop = raw("set -e; daemon=$(command -v nix-daemon); kill @{pid}; n=0; "
               "while kill -0 @{pid} 2>/dev/null && [ \"$(cut -d' ' -f3 @{stat} 2>/dev/null)\" != Z ]; do "
               "n=$((n+1)); "
               "[ $n -le @{ticks} ] || { echo 'the old nix-daemon (pid @{pid}) did not stop' >&2; exit 1; }; "
               "sleep 0.1; done; ", pid=status.pid, stat="/proc/%d/stat" % status.pid, ticks=timeout * 10)
    # Up once its socket answers: a client (a copy as a non-root user) connecting before then is refused.
    start = raw('setsid "$daemon" </dev/null >/dev/null 2>&1 & n=0; '
                "until @{found}; do n=$((n+1)); "
                "[ $n -le @{ticks} ] || { echo 'the new nix-daemon did not start' >&2; exit 1; }; sleep 0.1; done; "
                "until @{ping}; do n=$((n+1)); "
                "[ $n -le @{ping_ticks} ] || { echo 'the new nix-daemon does not answer on its socket' >&2; exit 1; }; "
                "sleep 0.1; done", found=found, ticks=timeout * 10, ping=PING_COMMAND, ping_ticks=timeout * 20)
    return raw("@{stop}@{start}", stop=stop, start=start)


# Succeeds when the daemon answers on its socket (Nix 2.19+ also calls it "store info").
PING_COMMAND = raw("{ nix --extra-experimental-features nix-command store ping --store daemon || "
                   "nix --extra-experimental-features nix-command store info --store daemon; } >/dev/null 2>&1")


# The running configuration as Nix sees it (Nix 2.20+ renamed show-config to config show).
SHOW_CONFIG_COMMAND = raw("nix --extra-experimental-features nix-command config show --json 2>/dev/null || "
                          "nix --extra-experimental-features nix-command show-config --json")
