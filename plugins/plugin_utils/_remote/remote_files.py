# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Reading and installing files on a target through a RemoteShell (see module_utils._remote.target_file).
``sensitive`` keeps a secret's content out of every log (see RemoteShell.run)."""

from __future__ import annotations

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote import target_file as tf
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.remote_shell import RemoteShell


def probe(shell: RemoteShell, path: str, sensitive: bool = False) -> tf.FileState:
    return shell.perform(tf.probe(path, sensitive))


def read_text(shell: RemoteShell, path: str, sensitive: bool = False) -> str:
    """The content of a regular file; a clear error when it is missing or not a regular file."""
    state = probe(shell, path, sensitive)
    if state.kind == "absent":
        raise NixError("%s does not exist" % path, host=shell.label)
    if state.kind != "file":
        raise NixError("%s is not a regular file" % path, host=shell.label)
    return state.content


def install(
    shell: RemoteShell,
    path: str,
    text: str,
    mode: int = 0o644,
    owner: str = "root",
    group: str = "root",
    dir_mode: int = 0o755,
    sensitive: bool = False,
) -> None:
    """Write ``text`` to ``path`` atomically."""
    shell.check(
        tf.write_command(path, owner, group, mode, dir_mode), "writing %s" % path, stdin=text, sensitive=sensitive
    )


def ensure(
    shell: RemoteShell, path: str, text: str, mode: int = 0o644, check_mode: bool = False, sensitive: bool = False
) -> bool:
    """``path`` holds ``text`` (root-owned, ``mode``); True when it was (or would be) written."""
    state = probe(shell, path, sensitive)
    if state.kind == "file" and (state.content, state.uid, state.gid, state.mode) == (text, 0, 0, mode):
        return False
    if state.kind in ("link", "other"):
        raise NixError("%s is not a regular file; nothing was changed" % path, host=shell.label)
    if not check_mode:
        install(shell, path, text, mode, sensitive=sensitive)
    return True
