"""plugin_utils/_activation/deployer_identity.py: who deploys (``user@controller``) and the deploy lock's owner label."""

import getpass
import os
import re
import socket

from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation import deployer_identity as di


def test_identity_is_this_user_at_this_host():
    assert di.controller_identity() == "%s@%s" % (getpass.getuser(), socket.gethostname())


def test_without_a_login_name_the_uid_stands_in(monkeypatch):
    def no_name():
        raise KeyError("getpwuid(): uid not found")

    monkeypatch.setattr(di.getpass, "getuser", no_name)
    assert di.controller_identity() == "uid-%d@%s" % (os.getuid(), socket.gethostname())


def test_owner_label_says_who_what_where_and_since_when_in_utc(monkeypatch):
    monkeypatch.setattr(di.time, "gmtime", lambda: (2026, 1, 2, 3, 4, 5, 4, 2, 0))
    label = di.owner_label("web", "a switch of /nix/var/nix/profiles/system")
    assert (
        label
        == "%s pid %d, deploying a switch of /nix/var/nix/profiles/system to web since 2026-01-02T03:04:05Z"
        % (di.controller_identity(), os.getpid())
    )


def test_owner_label_time_is_iso_utc():
    assert re.search(r" since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", di.owner_label("web", "x"))
