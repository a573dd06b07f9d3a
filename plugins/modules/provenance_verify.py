# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: provenance_verify
short_description: Check that a NixOS host's running system has a valid signed provenance
version_added: 0.1.0
description:
  - "Reads, with one remote command (no Python needed), the host's running system (or O(path)), its
    NAR hash as the host's store has it (C(nix-store --query --hash)) and the DSSE envelope the host
    keeps for it (M(nixfleet.nixos.provenance)), and checks on the controller that one of the trusted
    O(keys) signed it, that it is an in-toto Statement v1 with the SLSA Provenance v1 predicate, and
    that its subject is that system with that NAR hash."
  - A host with no statement, a statement no trusted key signed, a changed statement or one about
    another system is flagged (C(valid) false, with C(problem)), and fails the task with O(fail).
    Changes nothing.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
  - nixfleet.nixos.nix.read_only
options:
  keys:
    description: The trusted Ed25519 public keys, each in PEM or as an OpenSSH C(ssh-ed25519 AAAA...) line.
    type: list
    elements: str
    required: true
  path:
    description: The system to check; default the running one (C(/run/current-system)).
    type: str
  fail:
    description: Fail the task when the system has no valid statement (default - a warning).
    type: bool
    default: false
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Check the running system's signed provenance
  nixfleet.nixos.provenance_verify:
    keys: ["{{ lookup('ansible.builtin.file', 'provenance.pub') }}"]
    fail: true
"""

RETURN = r"""
system:
  description: The system checked.
  returned: success
  type: str
valid:
  description: A trusted key vouches for it.
  returned: success
  type: bool
keyid:
  description: The id of the key that signed it.
  returned: success
  type: str
problem:
  description: Why it is not vouched for (empty when it is).
  returned: success
  type: str
statement:
  description: What the valid statement says, in brief - C(flake), C(rev), C(builder), C(deployed_by), C(awx_job), C(awx_user), C(finished).
  returned: success
  type: dict
"""
