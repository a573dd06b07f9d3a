# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: sops_age_key
short_description: Place an age identity on a host for sops-nix
version_added: 0.1.0
description:
  - Writes an age identity file (one or more C(AGE-SECRET-KEY-1…) lines, comments allowed) where
    sops-nix reads it (C(sops.age.keyFile), by convention C(/var/lib/sops-nix/key.txt)), owned by
    root with mode C(0600), atomically (a temporary file in the same directory, renamed over the old one).
  - The key is validated on the controller (Bech32, 32-byte X25519 scalars) before the host is touched.
  - Idempotent by comparing the file on the host with the key (C(changed=false) when they are the same).
  - It never overwrites a different key, and never silently fixes a key file that others may have read
    (owned by someone else, or more permissive than O(mode)); both fail with a clear message unless O(force=true).
  - The key never appears in results, messages or diffs; the diff shows path, owner, mode and the
    recipients (C(age1…)) of the file before and after.
  - Needs no Python on the target (POSIX shell, C(stat), C(mktemp)).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Shows owner, mode and recipients, never key material.
options:
  content:
    description:
      - The identity file's text (for example from Ansible Vault). Mutually exclusive with O(src).
    type: str
  src:
    description:
      - A file on the controller holding the identity (looked up like M(ansible.builtin.copy)'s C(src)).
        Mutually exclusive with O(content).
    type: path
  path:
    description: Where the key goes on the host (sops-nix's C(sops.age.keyFile)).
    type: str
    default: /var/lib/sops-nix/key.txt
  owner:
    description: Owner of the key file (name or uid).
    type: str
    default: root
  group:
    description: Group of the key file (name or gid).
    type: str
    default: root
  mode:
    description: Mode of the key file (octal string).
    type: str
    default: "0600"
  dir_mode:
    description: Mode of the parent directory, when the task creates it (octal string).
    type: str
    default: "0700"
  force:
    description:
      - Replace a key file that holds a different identity, and fix the owner and mode of one that
        others may have read. Without it both fail and change nothing.
    type: bool
    default: false
seealso:
  - module: nixfleet.nixos.age_recipient
  - module: nixfleet.nixos.sops_decrypt_check
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Give every host its sops-nix age key from the vault
  nixfleet.nixos.sops_age_key:
    content: "{{ vault_sops_age_keys[inventory_hostname] }}"

- name: Or from a file next to the playbook
  nixfleet.nixos.sops_age_key:
    src: "keys/{{ inventory_hostname }}.txt"
    path: /var/lib/sops-nix/key.txt
"""

RETURN = r"""
path:
  description: The key file on the host.
  returned: success
  type: str
  sample: /var/lib/sops-nix/key.txt
recipients:
  description: The age recipients of the identities in the file (public, safe to print).
  returned: success
  type: list
  elements: str
  sample: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]
action:
  description: What was (or, in check mode, would be) done.
  returned: success
  type: str
  choices: [none, write, fix-permissions]
"""
