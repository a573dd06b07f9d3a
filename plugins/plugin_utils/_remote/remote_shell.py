# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Shell commands on a target, whatever carries them (an ssh process, an Ansible connection)."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from typing import Iterator, Optional, TypeVar

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_operation import Operation
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command

from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.process import CommandResult, check

T = TypeVar("T")


def checked(command: Command) -> Command:
    """``command``, if it is a ``remote_command.Command`` (no hand-made string reaches a target)."""
    if not isinstance(command, Command):
        raise TypeError(
            "a remote command is a remote_command.Command (argv() or raw()), not %s %r"
            % (type(command).__name__, command)
        )
    return command


class RemoteShell(ABC):
    """Runs POSIX shell commands (``remote_command.Command``, nothing else) on one target. Subclasses
    implement ``_execute``, the carrier."""

    label = "target"

    def run(
        self, command: Command, stdin: Optional[str] = None, sensitive: bool = False, privileged: bool = True
    ) -> CommandResult:
        """Run ``command`` with ``/bin/sh`` semantics on the target; never raise on exit codes.

        ``sensitive``: the command's input or output holds secrets; a carrier that logs what it
        runs (Ansible's connection at ``-vvv``) must not log this one's data.
        ``privileged``: the command must run as the privileged user (root), so through the
        privilege escalation the host's connection is configured with (Ansible's ``become``);
        read-only probes pass False and run as the login user.
        """
        return self._execute(checked(command), stdin, sensitive, privileged)

    def perform(self, operation: Operation[T]) -> T:
        """Run one remote operation and return what its parser makes of the answer (an operation
        with ``what`` fails on any exit code but 0, with ``NixError``)."""
        if operation.what is not None:
            answer = self.check(
                operation.command, operation.what, operation.stdin, operation.sensitive, operation.privileged
            )
        else:
            answer = self.run(operation.command, operation.stdin, operation.sensitive, operation.privileged)
        return operation.parse(answer)

    @contextlib.contextmanager
    def disconnect_tolerated(self) -> Iterator[None]:
        """While in it, a connection that drops during a command is that command's exit code 255
        (the command may go on on the target), not an unreachable host. Carriers that cannot lose
        their connection need do nothing."""
        yield

    @abstractmethod
    def _execute(self, command: Command, stdin: Optional[str], sensitive: bool, privileged: bool) -> CommandResult:
        """Carry ``command`` (already checked) to the target."""

    def check(
        self, command: Command, what: str, stdin: Optional[str] = None, sensitive: bool = False, privileged: bool = True
    ) -> CommandResult:
        result = self.run(command, stdin, sensitive, privileged)
        if sensitive and not result.ok:
            # The failure message carries stderr only: stdout may be the secret itself.
            result = CommandResult(result.argv, result.rc, "", result.stderr)
        return check(result, what, self.label)
