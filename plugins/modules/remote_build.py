# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: remote_build
short_description: Build many hosts' systems on a build host (nixos-rebuild --build-host)
version_added: 0.1.0
description:
  - Run with C(delegate_to) a build host (any inventory host with Nix, reached with its own Ansible
    connection settings) and C(run_once) - the systems of O(hosts), evaluated on the controller by
    M(nixfleet.nixos.build), are built there - the closures of their derivations go to it in one
    C(nix copy --derivation), and it builds them all with one C(nix-store --realise --keep-going)
    (its own builders and substituters).
  - Systems already valid on the build host are not built again (C(changed=false)).
  - Returns, per built host, the build host's store URL (RV(from_store)) - for
    M(nixfleet.nixos.copy_closure)'s O(nixfleet.nixos.copy_closure#module:from_store), which copies each
    system from the build host to its target (C(nix copy --from)) without it entering the
    controller's store. That copy's NIX_SSHOPTS are the target's (the build host's key travels in the
    URL), so the build host must accept the target's ssh port and known_hosts.
  - A system that fails to build fails its host (RV(failed_hosts), with the build host's error blocks
    for its derivation); the others are built.
  - The deploy role does this for hosts with C(nixos_deploy_build_on=builder) and
    C(nixos_deploy_build_host), once per build host.
extends_documentation_fragment:
  - nixfleet.nixos.nix
  - nixfleet.nixos.nix.ssh_store
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
attributes:
  check_mode:
    support: full
    details: Builds nothing; says how many systems would be built.
  diff_mode:
    support: none
options:
  hosts:
    description: The hosts whose systems to build.
    type: list
    elements: str
    required: true
  paths:
    description: Each host's system (M(nixfleet.nixos.build)'s RV(nixfleet.nixos.build#module:paths)).
    type: dict
    required: true
  drv_paths:
    description: Each host's system derivation (M(nixfleet.nixos.build)'s RV(nixfleet.nixos.build#module:drv_paths)).
    type: dict
    required: true
author:
  - nixfleet maintainers (@nixfleet)
seealso:
  - module: nixfleet.nixos.build
  - module: nixfleet.nixos.copy_closure
"""

EXAMPLES = r"""
- name: Build on the build host, once
  nixfleet.nixos.remote_build:
    hosts: "{{ ansible_play_hosts }}"
    paths: "{{ nixos_build.paths }}"
    drv_paths: "{{ nixos_build.drv_paths }}"
  delegate_to: builder01
  run_once: true
  register: remote
"""

RETURN = r"""
built:
  description: "C({host: system}) built on (or already on) the build host."
  returned: always
  type: dict
failed_hosts:
  description: Hosts whose system failed to build there, with the error.
  returned: always
  type: dict
from_store:
  description: "C({host: the build host's store URL}), for M(nixfleet.nixos.copy_closure)'s O(nixfleet.nixos.copy_closure#module:from_store)."
  returned: always
  type: dict
builder:
  description: The build host.
  returned: always
  type: str
"""
