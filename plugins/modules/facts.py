# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: facts
short_description: Generations, running and booted system of a NixOS host, as facts
version_added: 0.1.0
description:
  - Gathers, with one shell command (no Python needed on the host), the generations of a
    profile, the running (C(/run/current-system)) and booted (C(/run/booted-system)) systems,
    and whether a reboot is needed (their kernels differ).
  - Sets C(ansible_facts.nixos).
options:
  records:
    description:
      - How many of the audit log's last records to read, across its rotation (C(audit.log.1), then
        C(audit.log); the switch rotates the log past its O(nixfleet.nixos.switch#module:audit_log_keep)).
    type: int
    default: 10
extends_documentation_fragment:
  - nixfleet.nixos.nix.profile
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  facts:
    support: full
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Read the generations
  nixfleet.nixos.facts:

- name: Tell which hosts need a reboot
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} needs a reboot"
  when: ansible_facts.nixos.needs_reboot
"""

RETURN = r"""
ansible_facts:
  description: Facts about the host's profile and systems.
  returned: always
  type: dict
  contains:
    nixos:
      description: The profile, its generations and the running and booted systems.
      type: dict
      returned: always
      contains:
        profile:
          description: The profile path.
          type: str
          returned: always
        generations:
          description:
            - Each generation's C(number), C(path), C(date) (epoch seconds), C(current) and
              C(specialisations) (the names under C(PATH/specialisation/)).
          type: list
          elements: dict
          returned: always
        current_generation:
          description: The profile's current generation number (null when it has none).
          type: int
          returned: always
        profile_path:
          description: The store path of the current generation.
          type: str
          returned: always
        running_system:
          description: Where C(/run/current-system) points.
          type: str
          returned: always
        booted_system:
          description: Where C(/run/booted-system) points.
          type: str
          returned: always
        running_kernel:
          description: The running system's kernel.
          type: str
          returned: always
        booted_kernel:
          description: The booted system's kernel.
          type: str
          returned: always
        needs_reboot:
          description: The running and booted kernels differ.
          type: bool
          returned: always
        systemd:
          description: The host runs systemd (C(/run/systemd/system) exists).
          type: bool
          returned: always
        nix_version:
          description: The host's Nix version.
          type: str
          returned: always
        nix_store_free_bytes:
          description: Bytes free on the file system of C(/nix/store) (C(df -P)); null when it cannot be read.
          type: int
          returned: always
        deployments:
          description:
            - The last O(records) records of the host's audit log (C(/nix/var/nixfleet/audit.log)), oldest
              first, each written by the host when a deploy or rollback ended. Keys C(host), C(kind) (deploy
              or rollback), C(action), C(path), C(previous) (the system running before), C(previous_generation), C(status) (done,
              confirmed, failed-restored, rolled-back), C(rc), C(generation), C(time) (epoch seconds), C(by)
              (user@controller), C(awx_job), C(awx_user), C(flake) (the locked flake ref), C(rev) (its git
              revision, when it names one) and, for a deploy-rs profile besides system, C(profile) (its path;
              such records never explain the running system).
          type: list
          elements: dict
          returned: always
        running_system_deployed_by:
          description:
            - The record that explains the running system (the last change of the running system ended
              with it, or a later boot change made it the next boot's system); null when none does, e.g.
              when someone ran switch-to-configuration by hand.
          type: dict
          returned: always
"""
