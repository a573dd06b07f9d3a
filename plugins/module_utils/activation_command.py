# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shell command lines that change a NixOS host's generation (POSIX sh, no Python)."""

from __future__ import annotations

from ansible_collections.nixfleet.nixos.plugins.module_utils.shell import join, quote

ACTIONS = ("switch", "boot", "test", "dry-activate")
SETS_PROFILE = ("switch", "boot")
SETS_RUNNING = ("switch", "test")
EXIT_FAILED_UNITS = 4
WORK_DIR = "/run/nixfleet"


def is_toplevel_command(path: str) -> str:
    """Exit 0 when ``path`` exists, 3 when not, 2 when it is not a NixOS system toplevel."""
    p = quote(path)
    return ("if [ ! -e %s ]; then exit 3; fi; [ -f %s/nixos-version ] && [ -x %s/bin/switch-to-configuration ] "
            "|| exit 2" % (p, p, p))


def set_profile_command(profile: str, path: str) -> str:
    return join(["nix-env", "-p", profile, "--set", path])


def switch_generation_command(profile: str, number: int) -> str:
    return join(["nix-env", "-p", profile, "--switch-generation", str(number)])


def delete_generation_command(profile: str, number: int) -> str:
    return join(["nix-env", "-p", profile, "--delete-generations", str(number)])


def remove_profile_command(profile: str, number: int) -> str:
    """Undo the first generation of a profile that had none before."""
    return join(["rm", "-f", profile, "%s-%d-link" % (profile, number)])


def activation_command(path: str, action: str, systemd: bool, unit: str) -> str:
    """Run ``path/bin/switch-to-configuration action`` so that a dropped ssh session cannot kill it.

    With systemd, as nixos-rebuild does: a transient unit (``systemd-run --wait --pipe``).
    Without it: a new session (``setsid``) writing to files under /run/nixfleet, which this
    command waits for and prints; its exit code is the activation's.
    """
    if action not in ACTIONS:
        raise ValueError("unknown activation action %r (one of %s)" % (action, ", ".join(ACTIONS)))
    stc = "%s/bin/switch-to-configuration" % path
    if systemd:
        return join(["systemd-run", "-E", "LOCALE_ARCHIVE", "-E", "NIXOS_INSTALL_BOOTLOADER", "--collect",
                     "--no-ask-password", "--pipe", "--quiet", "--service-type=exec", "--unit=%s" % unit,
                     "--wait", stc, action])
    work = quote("%s/%s" % (WORK_DIR, unit))
    inner = "%s >%s/out 2>%s/err; echo $? >%s/rc" % (join([stc, action]), work, work, work)
    return ("mkdir -p %(w)s && { setsid sh -c %(inner)s </dev/null >/dev/null 2>&1 & } && "
            "while [ ! -s %(w)s/rc ]; do sleep 0.2; done; cat %(w)s/out; cat %(w)s/err >&2; "
            "rc=$(cat %(w)s/rc); rm -rf %(w)s; exit $rc" % {"w": work, "inner": quote(inner)})


def diff_closures_command(before: str, after: str) -> str:
    return join(["nix", "--extra-experimental-features", "nix-command", "store", "diff-closures", before, after])
