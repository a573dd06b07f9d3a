# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Which processes in ``/proc`` are the host's own: the test every ``/proc`` scan of ours makes
before it touches (or names) a process.

``/proc`` shows more than the host's processes wherever hosts share a machine: the machine's
``/proc`` shows those of its containers (nspawn, LXC, Docker, a test fleet's hosts), and a host that
is a chroot, or shares the machine's PID namespace, sees every process of the machine. A process is
the host's when it works on the host's files: its root directory is ours, and a path of ours
(``/nix/store``, the nix-daemon's socket), looked up through its root and in its mount namespace,
is the very file we see there (``-ef``: same device and inode). A process in another mount
namespace with other mounts at ``/nix`` (another host's store, a container's), or under another
root (a chroot), fails the test.

Not the mount namespace's id itself: Nix run as root (the daemon, a root ``nix-daemon --stdio``,
``nix-store --serve``) unshares a private copy of its caller's mount namespace when it starts, so
the host's own Nix processes seldom share the namespace of the shell that looks; a private copy of
the host's namespace sees the host's files, which is what matters.
"""

from __future__ import annotations

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command, raw

STORE_DIR = "/nix/store"


def function() -> Command:
    """Shell function ``nf_ours PID PATH``: true when process PID has our root and sees our
    ``PATH`` (an absolute path) as the same file (false when it is gone or we may not look)."""
    return raw('nf_ours() { [ "/proc/$1/root/" -ef / ] && [ -e "$2" ] && [ "/proc/$1/root$2" -ef "$2" ]; }')
