# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: provenance
short_description: Signed provenance of a deployed NixOS system (in-toto, SLSA v1, DSSE, Ed25519)
version_added: 0.1.0
description:
  - "Makes an in-toto Statement v1 with the SLSA Provenance v1 predicate for a deployed system and
    signs it, in a DSSE envelope, with an Ed25519 key. Subject: the system's store path with its NAR
    hash as a hex SHA-256 digest (from the controller's store, or the host's when only it has the
    system). Build definition: the flake ref, the attribute, the flake's revision and NAR hash and
    every locked input with its NAR hash (one C(nix flake metadata --json)), the Nix version and the
    builder (controller, target or build host). Run details: the controller's user and host, the AWX
    job id and user when AWX runs the play (C(awx_job_id), C(awx_user_name)), the action, and when
    the deploy started and ended."
  - "Keeps the envelope on the host, next to the audit log, as
    C(/nix/var/nixfleet/provenance/<store path name>.dsse.json) (root's, mode 0644), and only the
    newest O(keep) envelopes there (never the running or booted system's); with O(output_dir) also on
    the controller, C(OUTPUT_DIR/provenance/<host>.dsse.json)."
  - A host that already keeps the system's statement gets no new one unless O(changed_system) (what
    the deploy role passes from the switch), so a second run changes nothing; check mode signs and
    writes nothing. M(nixfleet.nixos.provenance_verify) checks a host's running system against it.
  - Needs no Python on the host. The key never appears in output or logs.
extends_documentation_fragment:
  - nixfleet.nixos.nix
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
options:
  path:
    description: The deployed system (a store path); required unless O(only_check_key).
    type: str
  only_check_key:
    description:
      - Only check that O(key) is a usable Ed25519 private key (and return its id); touch no host. The deploy
        role does this once, before anything is copied.
    type: bool
    default: false
  key:
    description:
      - The Ed25519 private key that signs, unencrypted, in PEM (PKCS#8, C(openssl genpkey -algorithm ed25519))
        or OpenSSH (C(ssh-keygen -t ed25519)) form. Never shown.
    type: str
    required: true
  flake:
    description: The flake ref the system was built from; default C(nixos_flake) from the inventory (locked).
    type: str
  attribute:
    description: The attribute built; default the host's C(nixos_toplevel_attr).
    type: str
  builder:
    description: Where the system was built.
    type: str
    default: controller
    choices: [controller, target, build-host]
  builder_host:
    description: The host that built it; default the controller's name, or the host itself for C(target).
    type: str
  action:
    description: What the deploy did with it (C(switch), C(boot), C(test)).
    type: str
    default: switch
  started:
    description: When the deploy started, in seconds since the epoch (default now).
    type: float
  finished:
    description: When it ended, in seconds since the epoch (default now).
    type: float
  changed_system:
    description: The deploy changed the host; false - write nothing when the host already keeps the system's statement.
    type: bool
    default: true
  output_dir:
    description: A directory on the controller; the envelope is also written to C(OUTPUT_DIR/provenance/<host>.dsse.json).
    type: path
  keep:
    description: How many envelopes the host keeps (the newest, and always the running and booted system's).
    type: int
    default: 20
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Sign and keep the provenance of the deployed system
  nixfleet.nixos.provenance:
    path: "{{ nixos_deploy_build.paths[inventory_hostname] }}"
    key: "{{ lookup('ansible.builtin.file', 'provenance.key') }}"
    output_dir: reports
"""

RETURN = r"""
file:
  description: Where the host keeps the envelope.
  returned: success
  type: str
keyid:
  description: The signing key's id (as securesystemslib names an Ed25519 key - SHA-256 of its canonical JSON form).
  returned: when signed
  type: str
subject:
  description: The statement's subject, C({name - store path, digest - {sha256 - hex}}).
  returned: when signed
  type: dict
statement:
  description: The in-toto statement that was signed.
  returned: when signed
  type: dict
files:
  description: The envelopes written on the controller.
  returned: when signed
  type: list
  elements: str
"""
