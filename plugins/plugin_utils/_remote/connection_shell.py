# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Shell commands over the task's own Ansible connection, with its privilege escalation.

Whatever runs as root on a target (the deploy lock, the profile, the activation, the watchdog's
canary, its confirmation, a rollback) goes through the ``become`` the host's connection is
configured with — method, user, password, prompts — because Ansible's connection and become
plugins carry it, also over a *fresh* connection (magic rollback's proof that the new generation
still accepts ssh): that one is the same connection with ssh told not to reuse, or become, a
ControlMaster. Read-only probes run as the login user (``privileged=False``).
"""

from __future__ import annotations

import contextlib
from typing import Any, Dict, Iterator, Optional

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.action import ActionBase

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command, argv
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.process import CommandResult
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.remote_shell import RemoteShell
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.ssh_target import fresh_options

SSH_TRANSPORTS = ("ssh", "ansible.builtin.ssh", "ansible.legacy.ssh")
FRESH_CONNECT_TIMEOUT = 5  # seconds; a fresh connection is retried until the confirm window closes
# A fresh connection that hangs (a generation that stops answering) is given up after ~15 s.
FRESH_KEEPALIVE = ("-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3")
SSH_ARG_OPTIONS = ("ssh_args", "ssh_common_args", "ssh_extra_args")


def has_fresh_connections(action: ActionBase) -> bool:
    """Can this task's connection open a fresh ssh connection per command (the ssh plugin can)?"""
    return action._connection.transport in SSH_TRANSPORTS


class ConnectionShell(RemoteShell):
    """Commands over the task's Ansible connection; ``fresh``: a new ssh connection per command
    (failing to connect is then an exit code, 255, not an unreachable host)."""

    def __init__(self, action: ActionBase, label: str, fresh: bool = False) -> None:
        self._action = action
        self.label = label
        self.fresh = fresh
        self._tolerant = False

    def _execute(self, command: Command, stdin: Optional[str], sensitive: bool, privileged: bool) -> CommandResult:
        text = command.text
        # sudoable only with become: the ssh connection then allocates a tty, which merges stderr
        # into stdout; without become the two stay apart.
        sudoable = privileged and bool(self._action._play_context.become)
        with self._no_log(sensitive), self._fresh_connection():
            try:
                # Ansible's connections take bytes (the local one refuses a str)
                data = stdin.encode("utf-8") if stdin is not None else None
                res = self._action._low_level_execute_command(text, sudoable=sudoable, in_data=data)
            except AnsibleConnectionFailure as exc:
                if not (self.fresh or self._tolerant):
                    raise
                return CommandResult([text], 255, "", str(exc))
        stdout = res.get("stdout", "")
        if sudoable:
            stdout = self._from_terminal(stdout)
        return CommandResult([text], res.get("rc", 1), stdout, res.get("stderr", ""))

    def _from_terminal(self, stdout: str) -> str:
        """Output as the command wrote it, when it came through the terminal become allocates: the
        terminal turns each newline into CRLF, and after a password prompt echoes the newline that
        ended the password before the command's first line."""
        stdout = stdout.replace("\r\n", "\n")
        become = getattr(self._action._connection, "become", None)
        prompted = become is not None and bool(become.get_option("become_pass"))
        return stdout[1:] if prompted and stdout.startswith("\n") else stdout

    @contextlib.contextmanager
    def _no_log(self, sensitive: bool) -> Iterator[None]:
        """The connection logs a command's output at -vvv unless its play context says no_log (it
        then logs "censored"); it may hold its own copy of the context."""
        contexts = {
            id(c): c
            for c in (self._action._play_context, getattr(self._action._connection, "_play_context", None))
            if c is not None
        }
        saved = {key: context.no_log for key, context in contexts.items()}
        if sensitive:
            for context in contexts.values():
                context.no_log = True
        try:
            yield
        finally:
            for key, context in contexts.items():
                context.no_log = saved[key]

    @contextlib.contextmanager
    def disconnect_tolerated(self) -> Iterator[None]:
        self._tolerant, saved = True, self._tolerant
        try:
            yield
        finally:
            self._tolerant = saved

    @contextlib.contextmanager
    def _fresh_connection(self) -> Iterator[None]:
        """While a command runs: the ssh plugin's ``ssh_args`` start with options that forbid a
        ControlMaster, and its connect timeout is short."""
        if not self.fresh:
            yield
            return
        conn = self._action._connection
        saved: Dict[str, Any] = {name: conn.get_option(name) for name in ("ssh_args", "timeout")}
        configured = " ".join(str(conn.get_option(name) or "") for name in SSH_ARG_OPTIONS)
        first = argv(*fresh_options(configured.split()), *FRESH_KEEPALIVE).text  # Ansible splits it like a shell
        conn.set_option("ssh_args", ("%s %s" % (first, saved["ssh_args"] or "")).strip())
        conn.set_option("timeout", min(int(saved["timeout"] or FRESH_CONNECT_TIMEOUT), FRESH_CONNECT_TIMEOUT))
        try:
            yield
        finally:
            for name, value in saved.items():
                conn.set_option(name, value)
