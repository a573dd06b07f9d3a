# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: cache_key
short_description: Generate or take a binary cache signing key on the controller
version_added: 0.1.0
description:
  - Makes sure O(secret_key_file) on the controller holds a Nix signing key, generating one with
    C(nix-store --generate-binary-cache-key) (mode C(0600)) or writing the one given in O(secret_key)
    (for example from Ansible Vault), and returns its public key for hosts to trust.
  - The secret key stays on the controller, where M(nixfleet.nixos.cache_push) signs with it; the cache
    host never holds it, so it cannot forge signatures. It is never printed.
  - An existing key is kept (C(changed=false)); a different O(secret_key) replaces it only with O(force=true);
    a key file readable by others is an error.
  - Runs on the controller only; use C(run_once).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
options:
  name:
    description: The key's name when generating one (by convention C(host-N), e.g. C(cache.example.org-1)).
    type: str
  secret_key_file:
    description: Where the secret key is kept on the controller.
    type: path
    required: true
  secret_key:
    description: A secret key to use instead of generating one (C(name:base64)).
    type: str
  force:
    description: Replace an existing, different key with O(secret_key).
    type: bool
    default: false
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: A signing key for the team cache
  nixfleet.nixos.cache_key:
    name: cache.example.org-1
    secret_key_file: "{{ inventory_dir }}/keys/cache.sec"
  run_once: true
  register: cache_key
"""

RETURN = r"""
public_key:
  description: The public key (C(name:base64)) hosts put in C(trusted-public-keys); null in check mode before generation.
  returned: success
  type: str
key_name:
  description: The key's name.
  returned: success
  type: str
secret_key_file:
  description: The secret key's path on the controller.
  returned: success
  type: str
"""
