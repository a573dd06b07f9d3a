# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: exposure
short_description: Which versions of a package a NixOS host has, in which system, and why
version_added: 0.1.0
description:
  - "For one package (a name, optionally with a version constraint), the versions in each system the
    host has: the running one (C(/run/current-system)), the booted one (C(/run/booted-system)) and
    each kept generation of O(profile), so it says whether the host runs a version now, after the
    next boot (the profile's current generation) or after a rollback (an older generation)."
  - "For each matching store path, one dependency chain from the system to it (the shortest chain of
    store references, found breadth-first): why it is there."
  - "One remote command per host (no Python needed there): the generations probe and then
    C(nix-store --query --graph) of all those systems, which gives their whole reference graph; the
    same on Nix 2.8 and 2.34. With O(sbom_dir), the host is not contacted at all; its SBOM
    (M(nixfleet.nixos.sbom)) describes one system."
  - Versions compare as Nix's C(builtins.compareVersions) does; a name matches exactly the name Nix
    splits off a store path name (C(openssl-3.0.13) is C(openssl), C(3.0.13)); the store path of an
    output (C(openssl-3.0.13-bin)) has the version without the output's name.
  - Changes nothing. M(nixfleet.nixos.exposure_report) makes a fleet's report of the hosts' results;
    C(playbooks/exposure.yml) runs both.
extends_documentation_fragment:
  - nixfleet.nixos.nix.profile
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
  - nixfleet.nixos.nix.read_only
options:
  package:
    description:
      - The package's name (C(openssl)), or the name with a version constraint (C(openssl<3.0.14),
        C(openssl >=3.0, <3.0.14)).
    type: str
    required: true
  version:
    description:
      - The version constraint, when O(package) is only a name - clauses joined by commas, all of which
        must hold, each an operator (C(<), C(<=), C(>), C(>=), C(==) or C(=), C(!=)) and a version.
        None - every version of the package matches.
    type: str
  sbom_dir:
    description:
      - Read the host's system from its SBOM C(SBOM_DIR/HOST.cdx.json) on the controller (as
        C(playbooks/sbom.yml) and C(nixos_deploy_sbom_dir) write them) instead of the host.
    type: path
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Which systems of each host have openssl older than 3.0.14, and why
  nixfleet.nixos.exposure:
    package: openssl
    version: "<3.0.14"
  register: openssl_exposure
"""

RETURN = r"""
host:
  description: The host.
  returned: always
  type: str
package:
  description: The package's name.
  returned: always
  type: str
constraint:
  description: The version constraint (C(<3.0.14)), empty for every version.
  returned: always
  type: str
source:
  description: Where the systems were read, C(host) or C(sbom).
  returned: always
  type: str
exposed:
  description: Some system of the host has a matching version.
  returned: always
  type: bool
running_exposed:
  description: The running system has a matching version.
  returned: always
  type: bool
booted_exposed:
  description: The booted system has a matching version.
  returned: always
  type: bool
exposed_generations:
  description: The generations of O(profile) whose system has a matching version.
  returned: always
  type: list
  elements: int
systems:
  description: Each system of the host, running first, then booted, then the generations newest first.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The system's store path.
      type: str
    roles:
      description: What it is on the host (C(running), C(booted), C(generation 3 (current)), C(sbom)).
      type: list
      elements: str
    generations:
      description: The generations that are this system.
      type: list
      elements: int
    current:
      description: It is the profile's current generation (what the host boots next).
      type: bool
    versions:
      description: Every version of the package in its closure, matching or not.
      type: list
      elements: str
    exposed:
      description: A version matches.
      type: bool
    matches:
      description: Each matching store path, with C(name), C(version), C(output) and C(chain) (the store
        paths from the system to it, each referencing the next).
      type: list
      elements: dict
error:
  description: Empty (a host that cannot be read fails the task).
  returned: always
  type: str
nixfleet_timing:
  description: When the task ran (see nixfleet.nixos.switch).
  returned: always
  type: dict
"""
