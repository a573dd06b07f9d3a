# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shell command lines for a NixOS host's generations (POSIX sh, no Python on the target)."""

from __future__ import annotations

from ansible_collections.nixfleet.nixos.plugins.module_utils.shell import join, quote

ACTIONS = ("switch", "boot", "test", "dry-activate")
SETS_PROFILE = ("switch", "boot")
SETS_RUNNING = ("switch", "test")
EXIT_FAILED_UNITS = 4


def is_toplevel_command(path: str) -> str:
    """Exit 0 when ``path`` exists, 3 when not, 2 when it is not a NixOS system toplevel."""
    p = quote(path)
    return ("if [ ! -e %s ]; then exit 3; fi; [ -f %s/nixos-version ] && [ -x %s/bin/switch-to-configuration ] "
            "|| exit 2" % (p, p, p))


def set_profile_command(profile: str, path: str) -> str:
    return join(["nix-env", "-p", profile, "--set", path])


def switch_generation_command(profile: str, number: int) -> str:
    return join(["nix-env", "-p", profile, "--switch-generation", str(number)])


def dry_activate_command(path: str) -> str:
    """``dry-activate`` changes nothing, so it runs directly, without lock or watchdog."""
    return join(["%s/bin/switch-to-configuration" % path, "dry-activate"])


def diff_closures_command(before: str, after: str) -> str:
    return join(["nix", "--extra-experimental-features", "nix-command", "store", "diff-closures", before, after])
