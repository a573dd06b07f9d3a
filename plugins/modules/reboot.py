# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: reboot
short_description: Reboot a NixOS host into its new generation when needed, and check it booted it
version_added: 0.1.0
description:
  - Decides from the host's generations whether to reboot (O(policy)); with C(if-needed), when the
    running kernel is not the booted one (C(/run/current-system/kernel) and C(/run/booted-system/kernel)
    differ).
  - Reboots detached, waits until the host answers over a fresh ssh connection with a B(new)
    C(/proc/sys/kernel/random/boot_id), then checks that C(/run/booted-system) and
    C(/run/current-system) are O(expected).
  - Needs no Python on the target.
extends_documentation_fragment:
  - nixfleet.nixos.nix.profile
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
options:
  policy:
    description: When to reboot.
    type: str
    default: if-needed
    choices: [never, if-needed, always]
  expected:
    description: The system the host must boot (and the profile must point at), for example the deployed toplevel.
    type: str
  timeout:
    description: Seconds to wait for the host to come back.
    type: int
    default: 600
attributes:
  check_mode:
    support: full
    details: Reports whether it would reboot.
  diff_mode:
    support: none
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Reboot if the kernel changed
  nixfleet.nixos.reboot:
    expected: "{{ nixos_deploy_path }}"
"""

RETURN = r"""
rebooted:
  description: Whether the host was rebooted.
  returned: always
  type: bool
reason:
  description: Why it was (or was not) rebooted.
  returned: always
  type: str
booted_system:
  description: The system the host booted.
  returned: when rebooted
  type: str
"""
