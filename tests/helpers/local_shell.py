"""The real sh on this machine, for unit tests of remote logic: ``sh`` runs shell text, ``LocalShell``
is a RemoteShell that runs commands with it."""

import subprocess

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


def sh(text: str) -> subprocess.CompletedProcess:
    """Shell ``text`` run with /bin/sh here, its output captured (a failure is the caller's to judge)."""
    return subprocess.run(
        ["/bin/sh", "-c", text], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False
    )
