# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: copy_closure
short_description: Put a store path and its closure on a host
version_added: 0.1.0
description:
  - Makes O(path) and everything it references valid in the target's Nix store.
  - Does nothing (C(changed=false)) when the path is already valid there.
  - Pushes with the real Nix CLI on the controller (C(nix copy --to ssh-ng://...)), using exactly the
    host's Ansible ssh settings (C(ansible_host), C(ansible_user), C(ansible_port),
    C(ansible_ssh_private_key_file), C(ansible_ssh_common_args), C(ansible_ssh_extra_args),
    C(ansible_ssh_args), host key checking) passed through C(NIX_SSHOPTS), over the master
    connection Ansible keeps to the host when it has one open (no second ssh handshake).
  - Or lets the target substitute what it can from its own substituters (O(mode=substitute)), or
    pull everything from a binary cache (O(mode=cache)).
  - The target needs no Python.
extends_documentation_fragment:
  - nixfleet.nixos.nix
  - nixfleet.nixos.nix.ssh_store
  - nixfleet.nixos.nix.transfer
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
options:
  path:
    description: The store path to copy (for example a system toplevel).
    type: str
    required: true
  build_on_target:
    description:
      - Build O(path) on the target instead of copying it (deploy-rs C(remoteBuild), colmena
        C(buildOnTarget), the deploy role's C(nixos_deploy_build_on=target)) - the closure of its
        derivation O(drv_path) (derivations and sources) is pushed with C(nix copy --derivation), then
        the target runs C(nix-store --realise) with its own builders and substituters. Nothing happens
        when O(path) is already valid there. Not with O(mode=cache).
    type: bool
    default: false
  drv_path:
    description: The derivation of O(path) (what M(nixfleet.nixos.build) returns in C(drv_paths)), for O(build_on_target).
    type: str
attributes:
  check_mode:
    support: full
    details: Reports whether the path would be copied.
  diff_mode:
    support: none
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Push the host's system
  nixfleet.nixos.copy_closure:
    path: "{{ nixos_build.paths[inventory_hostname] }}"

- name: Let every host pull from the team cache
  nixfleet.nixos.copy_closure:
    path: "{{ nixos_build.paths[inventory_hostname] }}"
    mode: cache
    cache_url: https://cache.example.com
"""

RETURN = r"""
path:
  description: The store path.
  returned: always
  type: str
copied:
  description: Whether anything was copied.
  returned: always
  type: bool
built_on_target:
  description: Whether the target built O(path) (O(build_on_target)).
  returned: always
  type: bool
mode:
  description: The mode used.
  returned: always
  type: str
"""
