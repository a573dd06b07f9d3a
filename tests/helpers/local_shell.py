"""A RemoteShell that runs commands with the real sh on this machine (unit tests of remote logic)."""

from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.process import run
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.remote_shell import RemoteShell


class LocalShell(RemoteShell):
    """Runs commands with the real sh on this machine; ``carried`` lists (command, privileged)."""

    label = "here"

    def __init__(self):
        self.carried = []

    def _execute(self, command, stdin, sensitive, privileged):
        self.carried.append((command, privileged))
        return run(["sh", "-c", command.text], stdin=stdin)
