# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""A host's age identity as sops-nix would use it, read over the host's Ansible connection.

``source`` says where sops-nix finds it: ``key_file`` (``sops.age.keyFile``, an age identity file)
or ``ssh_host_key`` (``sops.age.sshKeyPaths``: the ed25519 host key, converted like ssh-to-age).
Recipients need only public data for ``ssh_host_key`` (the ``.pub`` file). Identities stay in
the controller's memory and never go into a result or message.
"""

from __future__ import annotations

from typing import List, Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets import age_keys
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.remote_shell import RemoteShell
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.remote_files import read_text

KEY_FILE = "key_file"
SSH_HOST_KEY = "ssh_host_key"
SOURCES = (KEY_FILE, SSH_HOST_KEY)
DEFAULT_PATHS = {KEY_FILE: "/var/lib/sops-nix/key.txt", SSH_HOST_KEY: "/etc/ssh/ssh_host_ed25519_key"}


def default_path(source: str, path: Optional[str]) -> str:
    return path or DEFAULT_PATHS[source]


def recipients(shell: RemoteShell, source: str, path: Optional[str] = None) -> List[str]:
    """The host's age recipients (``age1…``)."""
    path = default_path(source, path)
    try:
        if source == SSH_HOST_KEY:
            return [age_keys.ssh_to_age_recipient(read_text(shell, path + ".pub"))]
        return age_keys.recipients_of(read_text(shell, path, sensitive=True), path)
    except age_keys.AgeKeyError as exc:
        raise NixError(str(exc), host=shell.label)


def identities(shell: RemoteShell, source: str, path: Optional[str] = None) -> List[age_keys.Identity]:
    """The host's age identities (secret: keep them out of every result)."""
    path = default_path(source, path)
    try:
        if source == SSH_HOST_KEY:
            return [age_keys.ssh_to_age_identity(read_text(shell, path, sensitive=True))]
        return age_keys.parse_identity_file(read_text(shell, path, sensitive=True), path)
    except age_keys.AgeKeyError as exc:
        raise NixError(str(exc), host=shell.label)
