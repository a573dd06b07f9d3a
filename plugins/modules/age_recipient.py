# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: age_recipient
short_description: Read a host's age recipient (ssh-to-age of its host key, or of its sops-nix key file)
version_added: 0.1.0
description:
  - With O(source=ssh_host_key), reads the host's ed25519 public host key (O(path) plus C(.pub))
    and converts it to an age recipient exactly as C(ssh-to-age) does (the Montgomery form of the
    Ed25519 point, Bech32 with prefix C(age)), with no extra tool on the host or the controller.
  - With O(source=key_file), reads the age identity file sops-nix uses and derives its recipients
    on the controller; the key itself is never returned.
  - Changes nothing. Needs no Python on the target.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
  - nixfleet.nixos.nix.read_only
options:
  source:
    description: Where sops-nix finds the host's identity.
    type: str
    default: ssh_host_key
    choices: [ssh_host_key, key_file]
  path:
    description:
      - The private key's path; default C(/etc/ssh/ssh_host_ed25519_key) for C(ssh_host_key)
        (its C(.pub) is read) and C(/var/lib/sops-nix/key.txt) for C(key_file).
    type: str
seealso:
  - module: nixfleet.nixos.sops_config_check
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: The host's age recipient, from its ssh host key
  nixfleet.nixos.age_recipient:
  register: host_age

- name: Show it (add it to .sops.yaml)
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }}: {{ host_age.recipient }}"
"""

RETURN = r"""
recipient:
  description: The first (usually only) recipient.
  returned: success
  type: str
  sample: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
recipients:
  description: Every recipient (one per identity of a key file).
  returned: success
  type: list
  elements: str
path:
  description: The private key path the recipient belongs to.
  returned: success
  type: str
source:
  description: The source used.
  returned: success
  type: str
"""
