# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: sbom
short_description: A CycloneDX 1.6 SBOM of a NixOS host's system closure
version_added: 0.1.0
description:
  - "Writes, on the controller, a CycloneDX 1.6 JSON document of a system's closure: a component
    per store path (name and version split as Nix's C(parseDrvName) does, C(purl)
    C(pkg:nix/NAME@VERSION), the NAR hash as SHA-256, the store path, NAR size and deriver), the
    dependency graph from the store's references, and the system itself as the document's subject
    with the host, the flake ref and its revision."
  - The closure is read with one C(nix path-info --recursive --json) from the controller's store,
    or, when the system is not there, from the host's store over ssh (its Ansible ssh settings).
    Needs no Python on the host.
  - C(changed) only when the document differs from the one at O(dest) in more than its time
    stamp and serial number; check mode writes nothing.
extends_documentation_fragment:
  - nixfleet.nixos.nix
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
options:
  path:
    description: The system (a store path); default the host's running system (C(/run/current-system)).
    type: str
  dest:
    description: The file to write, on the controller (its directory is created).
    type: path
    required: true
  flake:
    description: The flake ref the system was built from (metadata); default C(nixos_flake) from the inventory.
    type: str
  sources:
    description:
      - When the controller has the system's derivation (it built the system), add where each package's
        derivation fetched its sources, read with one C(nix derivation show --recursive) (C(nix
        show-derivation) before Nix 2.15) - the URLs of its fixed-output inputs (nixpkgs' C(fetchurl)
        C(urls), C(fetchgit)'s C(url)) as C(externalReferences) of type C(source-distribution), with the
        fetched SHA-256. Licences are not in derivations (nixpkgs keeps C(meta) out of them), so none
        are listed.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: An SBOM of each host's running system
  nixfleet.nixos.sbom:
    dest: "sbom/{{ inventory_hostname }}.cdx.json"
"""

RETURN = r"""
dest:
  description: The file written (or, in check mode, that would be).
  returned: always
  type: str
path:
  description: The system described.
  returned: always
  type: str
components:
  description: How many store paths the document lists (the system included).
  returned: always
  type: int
read_from:
  description: Whose store the closure was read from, C(controller) or C(host).
  returned: always
  type: str
with_sources:
  description: How many components have source URLs from their derivations.
  returned: always
  type: int
nixfleet_timing:
  description: When the task ran (see nixfleet.nixos.switch).
  returned: always
  type: dict
"""
