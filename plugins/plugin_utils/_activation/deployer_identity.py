# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Who deploys, as the host's deploy lock and audit log name the controller."""

from __future__ import annotations

import getpass
import os
import socket
import time


def controller_identity() -> str:
    """``user@controller``: who runs this deploy, as the lock and the audit log name them."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in the environment and no passwd entry
        user = "uid-%d" % os.getuid()
    return "%s@%s" % (user, socket.gethostname())


def owner_label(host: str, what: str) -> str:
    """Who holds the deploy lock, as the next deployer will read it."""
    return "%s pid %d, deploying %s to %s since %s" % (
        controller_identity(),
        os.getpid(),
        what,
        host,
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
