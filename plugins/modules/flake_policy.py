# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: flake_policy
short_description: Check a flake's locked inputs against an approved-inputs policy
version_added: 0.1.0
description:
  - Reads the flake's lock graph (C(nix flake metadata --json), which never writes a lock file) and
    reports every violation with the input's path in the graph (for example C(lib/nixpkgs)).
  - Rules - the top-level nixpkgs comes from an allowed source (O(allowed_nixpkgs)); every input
    with a nixpkgs input of its own follows the top-level one (O(require_follows)); no C(path:)
    inputs and none locked to no revision (O(forbid_path_inputs)); no input locked more than
    O(max_age_days) days ago.
  - Fails on violations (or warns, O(fail_on_violation=false)). A local flake without C(flake.lock),
    or one Nix cannot read, is an error. Changes nothing; runs on the controller, so it works in a
    play and in CI (C(ansible localhost -m nixfleet.nixos.flake_policy -a ...)).
extends_documentation_fragment:
  - nixfleet.nixos.nix
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
  - nixfleet.nixos.nix.read_only
options:
  flake:
    description: The flake - a directory (relative to the playbook) or any flake ref.
    type: str
    required: true
  allowed_nixpkgs:
    description:
      - Allowed sources of the top-level nixpkgs, as flake refs of its C(original) (what flake.nix says),
        C(*) globs allowed, for example C(github:NixOS/nixpkgs/nixos-24.05) or C(github:acme/approved/*).
        GitHub, GitLab and SourceHut owners and repositories match case-insensitively. Empty checks nothing.
    type: list
    elements: str
    default: []
  nixpkgs_input:
    description: The name of the nixpkgs input.
    type: str
    default: nixpkgs
  require_follows:
    description: Every input with a nixpkgs input must follow the top-level one.
    type: bool
    default: true
  forbid_path_inputs:
    description: Refuse C(path:) inputs and inputs not locked to a revision.
    type: bool
    default: true
  max_age_days:
    description: Refuse inputs locked longer ago than this (by their C(lastModified)).
    type: int
  fail_on_violation:
    description: Fail on violations; otherwise warn.
    type: bool
    default: true
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Only the approved nixpkgs, everything following it, nothing older than 30 days
  nixfleet.nixos.flake_policy:
    flake: ../infra
    allowed_nixpkgs: [github:acme/approved-nixpkgs/*, github:NixOS/nixpkgs/nixos-24.05]
    max_age_days: 30
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
violations:
  description: Every violation.
  returned: success
  type: list
  elements: dict
  contains:
    rule:
      description: C(nixpkgs), C(follows), C(path) or C(age).
      type: str
    input:
      description: The input's path in the lock graph.
      type: str
    message:
      description: What is wrong and how to fix it.
      type: str
flake:
  description: The flake checked.
  returned: success
  type: str
locked_url:
  description: The flake's URL as Nix resolved it.
  returned: success
  type: str
"""
