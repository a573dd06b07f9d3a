# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""When to reboot a NixOS host after a switch, and how to tell that it came back right."""

from __future__ import annotations

from typing import Optional, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generations import ProfileState
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import argv, raw

POLICIES = ("never", "if-needed", "always")
BOOT_ID_COMMAND = argv("cat", "/proc/sys/kernel/random/boot_id")
# Detached, so the ssh session that asks for it can end cleanly first.
REBOOT_COMMAND = raw(
    "{ setsid sh -c 'sleep 2; systemctl reboot || reboot' </dev/null >/dev/null 2>&1 & }; echo rebooting"
)


def reboot_decision(policy: str, state: ProfileState, expected: Optional[str]) -> Tuple[bool, str]:
    """(reboot?, why) for ``policy`` given the host's state after the switch."""
    if policy not in POLICIES:
        raise ValueError("unknown reboot policy %r (one of %s)" % (policy, ", ".join(POLICIES)))
    if policy == "never":
        return False, "the policy is never"
    if expected and state.profile_path != expected:
        return False, "the profile does not point at %s, so a reboot would not boot it" % expected
    if policy == "always":
        return True, "the policy is always"
    if state.needs_reboot:
        return True, "the running kernel %s is not the booted kernel %s" % (state.running_kernel, state.booted_kernel)
    if expected and state.booted_system and state.booted_system != expected and state.running_system != expected:
        return True, "the host booted %s and does not run %s" % (state.booted_system, expected)
    return False, "the running kernel is the booted one"


def came_back(before_boot_id: str, after_boot_id: Optional[str]) -> bool:
    """The host answers again with a different boot id (it really rebooted)."""
    if not after_boot_id:
        return False
    return after_boot_id.strip() != before_boot_id.strip()


def booted_problem(state: ProfileState, expected: Optional[str]) -> Optional[str]:
    """None when the host booted ``expected`` and runs it; else what is wrong."""
    if not expected:
        return None
    if state.booted_system != expected:
        return "booted %s instead of %s" % (state.booted_system or "an unknown system", expected)
    if state.running_system != expected:
        return "runs %s instead of %s after the reboot" % (state.running_system or "nothing", expected)
    return None
