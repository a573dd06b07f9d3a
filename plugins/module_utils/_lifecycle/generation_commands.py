# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Shell command lines for a NixOS host's generations (POSIX sh, no Python on the target)."""

from __future__ import annotations

from enum import Enum

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command, argv, raw


class Action(str, Enum):
    """What a new generation is asked to become (``switch-to-configuration``'s actions): the boot
    entry and system profile (``sets_profile``), the running system (``sets_running``), or neither
    (``dry-activate``, which only says what would change). Equal to its word, as options give it."""

    SWITCH = "switch"
    BOOT = "boot"
    TEST = "test"
    DRY_ACTIVATE = "dry-activate"

    @property
    def sets_profile(self) -> bool:
        return self in (Action.SWITCH, Action.BOOT)

    @property
    def sets_running(self) -> bool:
        return self in (Action.SWITCH, Action.TEST)


ACTIONS = tuple(a.value for a in Action)
SETS_PROFILE = tuple(a.value for a in Action if a.sets_profile)
SETS_RUNNING = tuple(a.value for a in Action if a.sets_running)  # also the live ones the inhibitors refuse
CHANGING = tuple(a.value for a in Action if a.sets_profile or a.sets_running)  # what a rollback may do
EXIT_FAILED_UNITS = 4


def is_toplevel_command(path: str) -> Command:
    """Exit 0 when ``path`` exists, 3 when not, 2 when it is not a NixOS system toplevel."""
    return raw(
        "if [ ! -e @{p} ]; then exit 3; fi; [ -f @{version} ] && [ -x @{stc} ] || exit 2",
        p=path,
        version=path + "/nixos-version",
        stc=path + "/bin/switch-to-configuration",
    )


def is_valid_toplevel_command(path: str) -> Command:
    """:func:`is_toplevel_command`, where files on disk that the store does not hold as valid (a copy
    cut off half-way) count as missing (exit 3). The running system is valid without a ``nix-store``
    process."""
    valid = raw(
        '[ "$(readlink /run/current-system 2>/dev/null)" = @{p} ] || nix-store --check-validity @{p} '
        ">/dev/null 2>&1 || exit 3",
        p=path,
    )
    return valid.then(is_toplevel_command(path))


def set_profile_command(profile: str, path: str) -> Command:
    return argv("nix-env", "-p", profile, "--set", path)


def switch_generation_command(profile: str, number: int) -> Command:
    return argv("nix-env", "-p", profile, "--switch-generation", number)


def activate_command(path: str, action: str) -> Command:
    """``PATH/bin/switch-to-configuration ACTION``."""
    return argv("%s/bin/switch-to-configuration" % path, action)


DEPLOY_RS_ACTIVATE = "deploy-rs-activate"  # what activates a deploy-rs profile (_transaction/deploy.sh runs it)
NOTHING_TO_ACTIVATE = "nixfleet: no deploy-rs-activate"


def dry_activate_command(path: str) -> Command:
    """``dry-activate`` changes nothing, so it runs directly, without lock or watchdog."""
    return activate_command(path, "dry-activate")


def diff_closures_command(before: str, after: str) -> Command:
    return argv("nix", "--extra-experimental-features", "nix-command", "store", "diff-closures", before, after)


SPECIALISATION_DIR = "specialisation"


def check_specialisation_name(name: str) -> None:
    """A specialisation is a directory entry of the toplevel: one path segment, like NixOS's attribute
    names (no ``/``, no ``..``, nothing a shell or a path would read twice). ValueError otherwise."""
    if not name or name in (".", "..") or not all(c.isalnum() or c in "-_." for c in name):
        raise ValueError(
            "%r is not a specialisation name (letters, digits, '-', '_' and '.', one path segment)" % (name,)
        )


def specialisation_command(path: str, name: str) -> Command:
    """Print ``specialisation<TAB>TOPLEVEL`` (what ``PATH/specialisation/NAME`` resolves to, when it is
    a toplevel) and ``specialisations<TAB>NAMES`` (every one the system has)."""
    return raw(
        's=$(readlink -f @{spec} 2>/dev/null); [ -x "$s/bin/switch-to-configuration" ] || s=; '
        "printf 'specialisation\\t%s\\nspecialisations\\t%s\\n' \"$s\" "
        "\"$(ls @{dir} 2>/dev/null | tr '\\n' ' ')\"",
        spec="%s/%s/%s" % (path, SPECIALISATION_DIR, name),
        dir="%s/%s" % (path, SPECIALISATION_DIR),
    )
