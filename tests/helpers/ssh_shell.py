"""A RemoteShell over a plain ssh process per command (the fleet tests' way to reach a host without
Ansible): the target's login user, no privilege escalation (``privileged`` changes nothing)."""

from typing import Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.process import CommandResult, run
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.remote_shell import RemoteShell
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.ssh_target import SshTarget


class SshShell(RemoteShell):
    """A fresh ``ssh`` process per command (no connection reuse unless the options ask for it)."""

    def __init__(self, target: SshTarget, fresh: bool = False, timeout: Optional[float] = None) -> None:
        self.target = target
        self.fresh = fresh
        self.timeout = timeout
        self.label = target.label

    def _execute(self, command: Command, stdin: Optional[str], sensitive: bool, privileged: bool) -> CommandResult:
        return run(self.target.ssh_argv(command, fresh=self.fresh), stdin=stdin, timeout=self.timeout)
