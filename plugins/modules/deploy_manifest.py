# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: deploy_manifest
short_description: Write the manifest of a pre-built deploy (host to system store path)
version_added: 0.1.0
description:
  - Writes, on the controller, the JSON manifest C(playbooks/build.yml) makes in CI - each host's
    system toplevel (and derivation), the locked flake ref and revision it was built from, and the
    binary cache the systems were pushed to.
  - C(deploy.yml -e nixos_deploy_manifest=FILE) then evaluates and builds nothing - every host
    realises its system from the cache, signatures checked (see M(nixfleet.nixos.build)'s
    O(nixfleet.nixos.build#module:manifest)) - so the deploy job needs the hosts' credentials only.
  - The file is written atomically and only when it changes (no time stamp in it); C(--diff) shows it.
  - "Run it once, on the controller (C(run_once: true))."
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
attributes:
  check_mode:
    support: full
    details: Says whether the file would change, writes nothing.
  diff_mode:
    support: full
options:
  dest:
    description: The manifest file to write on the controller.
    type: path
    required: true
  paths:
    description: Each host's system store path (M(nixfleet.nixos.build)'s RV(nixfleet.nixos.build#module:paths)).
    type: dict
    required: true
  drv_paths:
    description: Each host's system derivation (M(nixfleet.nixos.build)'s RV(nixfleet.nixos.build#module:drv_paths)).
    type: dict
    default: {}
  cache:
    description: The binary cache the systems were pushed to (M(nixfleet.nixos.cache_push)), which deploys pull from.
    type: str
  flake:
    description: The flake ref the systems were built from. Default the hosts' C(nixos_flake) (locked by the inventory), when they agree.
    type: str
author:
  - nixfleet maintainers (@nixfleet)
seealso:
  - module: nixfleet.nixos.build
  - module: nixfleet.nixos.cache_push
"""

EXAMPLES = r"""
- name: Write the manifest of what was built and pushed
  nixfleet.nixos.deploy_manifest:
    dest: "{{ playbook_dir }}/manifest.json"
    paths: "{{ nixos_deploy_build.paths }}"
    drv_paths: "{{ nixos_deploy_build.drv_paths }}"
    cache: s3://nix-cache?region=eu-west-1
  run_once: true
"""

RETURN = r"""
dest:
  description: The manifest file.
  returned: always
  type: str
hosts:
  description: The hosts it lists.
  returned: always
  type: list
  elements: str
flake:
  description: The flake ref it records.
  returned: always
  type: str
"""
