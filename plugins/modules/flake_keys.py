# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: flake_keys
short_description: Read colmena's deployment.keys of many hosts with one nix eval
version_added: 0.1.0
description:
  - Reads C(config.deployment.keys) (colmena's secret keys) of every host in O(hosts) that the
    nixfleet.nixos.flake inventory lists with key names (host var C(nixos_colmena_keys)), with
    B(one) C(nix eval) on the controller, and returns them for
    M(nixfleet.nixos.switch)'s O(nixfleet.nixos.switch#module:keys).
  - A C(keyFile) is returned as the path string it is (never copied into the Nix store); a
    C(keyCommand) is not run here (the switch runs it, before anything changes on the host).
  - "The result holds the keys' C(text): run it with C(no_log: true) and C(run_once: true), as the
    deploy role does."
  - A host whose keys do not evaluate is listed in RV(failed_hosts) with Nix's message.
extends_documentation_fragment:
  - nixfleet.nixos.nix
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
  - nixfleet.nixos.nix.read_only
options:
  hosts:
    description: The inventory names of the hosts. Default the play's current batch (C(ansible_play_batch)).
    type: list
    elements: str
author:
  - nixfleet maintainers (@nixfleet)
seealso:
  - module: nixfleet.nixos.switch
"""

EXAMPLES = r"""
- name: Read every host's colmena keys once
  nixfleet.nixos.flake_keys:
    hosts: "{{ ansible_play_hosts }}"
  run_once: true
  no_log: true
  register: keys

- name: Switch, uploading the keys before and after activation
  nixfleet.nixos.switch:
    path: "{{ nixos_build.paths[inventory_hostname] }}"
    keys: "{{ keys.host_keys[inventory_hostname] | default({}) }}"
"""

RETURN = r"""
host_keys:
  description: "C({host: {key attribute: colmena's key options}}), for the hosts that have keys (secret: C(no_log))."
  returned: always
  type: dict
failed_hosts:
  description: Hosts whose keys do not evaluate, with Nix's message.
  returned: always
  type: dict
"""
