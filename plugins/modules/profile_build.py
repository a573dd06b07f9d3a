# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: profile_build
short_description: Build every host's package profile with one nix build on the controller
version_added: 0.1.0
description:
  - For each host, a user environment (Nix's own C(builtin:buildenv), as C(nix-env) makes; no nixpkgs
    needed) holding its packages - flake outputs such as C(github:acme/approved#packages.x86_64-linux.jq).
  - Hosts with the same package list share one environment. One C(nix eval) reads every set's store
    paths; one C(nix build) builds them all (none in check mode). Use C(run_once).
extends_documentation_fragment:
  - nixfleet.nixos.nix
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
attributes:
  check_mode:
    support: full
    details: Evaluates the store paths (for diffs), builds nothing.
  diff_mode:
    support: none
options:
  packages_by_host:
    description: Each host's packages, C(FLAKEREF#ATTRIBUTE) strings.
    type: dict
    required: true
seealso:
  - module: nixfleet.nixos.nix_profile
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Build the ops tools once for every host
  nixfleet.nixos.profile_build:
    packages_by_host: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'ops_tools'))) }}"
  run_once: true
  register: tools
"""

RETURN = r"""
paths:
  description: Each host's environment store path.
  returned: success
  type: dict
packages:
  description: Each host's package store paths.
  returned: success
  type: dict
sets:
  description: How many distinct environments were built.
  returned: success
  type: int
nix_calls:
  description: The nix commands run (C(eval), C(build)).
  returned: success
  type: list
  elements: str
"""
