# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: sops_decrypt_check
short_description: Prove that a host's age identity can unwrap the data key of sops-encrypted files
version_added: 0.1.0
description:
  - For each sops-encrypted YAML or JSON file on the controller, finds the C(sops.age) (and
    C(sops.key_groups[].age)) entry addressed to the host's recipient and opens its C(enc) with the
    host's identity, as sops does on the host during activation (the X25519 stanza, the age
    header MAC, and the payload, which must be a 32-byte data key).
  - The identity comes from O(identity) or is read from the host (O(source), O(path)) over its
    Ansible connection; it stays in the controller's memory. No key, data key or secret value is
    ever returned or printed.
  - "Fails (or, with O(fail_on_error=false), warns) naming the host and each file it cannot decrypt.
    Changes nothing. Needs no Python on the target."
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
  - nixfleet.nixos.nix.read_only
options:
  files:
    description: sops-encrypted files on the controller.
    type: list
    elements: path
    required: true
  base_dir:
    description: The directory relative O(files) are in (for example the directory of C(.sops.yaml)).
    type: path
  identity:
    description: The host's age identity file text; when not given, it is read from the host.
    type: str
  source:
    description: Where to read the identity on the host (without O(identity)).
    type: str
    default: key_file
    choices: [key_file, ssh_host_key]
  path:
    description:
      - The key's path on the host; default C(/var/lib/sops-nix/key.txt) for C(key_file) and
        C(/etc/ssh/ssh_host_ed25519_key) for C(ssh_host_key).
    type: str
  fail_on_error:
    description: Fail the host when a file cannot be decrypted; otherwise warn.
    type: bool
    default: true
seealso:
  - module: nixfleet.nixos.sops_age_key
  - module: nixfleet.nixos.sops_config_check
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Can each host decrypt its secrets with the key it has?
  nixfleet.nixos.sops_decrypt_check:
    files: ["{{ playbook_dir }}/secrets/{{ inventory_hostname }}.yaml"]
    source: key_file
"""

RETURN = r"""
files:
  description: Per file, whether the host can decrypt it.
  returned: success
  type: list
  elements: dict
  contains:
    file:
      description: The file.
      type: str
    decryptable:
      description: Whether the host's identity unwraps the data key.
      type: bool
    recipient:
      description: The recipient whose stanza opened, or null.
      type: str
    reason:
      description: C(ok), or why it cannot be decrypted.
      type: str
recipients:
  description: The recipients of the identities used.
  returned: success
  type: list
  elements: str
"""
