# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: package_gate
short_description: Refuse the hosts whose new system holds a denied package version, before any copy
version_added: 0.1.0
description:
  - "The deploy gate: checks each host's new system (O(paths), as M(nixfleet.nixos.build) returns them)
    against denied package versions, on the controller, before anything is copied. A host whose
    system holds one is in C(failed_hosts) with a message that names the package, its version, the
    rule and the chain of store references that pulls it in; the deploy role fails it before its
    copy, and the other hosts go on."
  - "The closures are read with one C(nix path-info --recursive) from the controller's store (or
    O(store)); a system that is not there (built on its target or a build host, or in check mode not
    built yet) is checked by its derivation's build graph (C(nix-store --query --graph)), a superset of
    what it will run: a package used only to build it counts too. A system that cannot be read at
    all is refused."
  - "A version an exception of O(allow_packages) covers passes until the exception's C(expires) date
    (inclusive, UTC), and is listed in C(allowed) and as a warning; one whose exception expired is
    refused, saying so."
  - Versions compare as Nix's C(builtins.compareVersions) does; names match exactly (see
    M(nixfleet.nixos.exposure)). Changes nothing; run it once (C(run_once)).
extends_documentation_fragment:
  - nixfleet.nixos.nix
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
  - nixfleet.nixos.nix.read_only
options:
  paths:
    description: Each host's new system, C({host - store path}).
    type: dict
    required: true
  drv_paths:
    description: Each host's system derivation, for the systems the store lacks.
    type: dict
    default: {}
  deny_packages:
    description:
      - "The denied versions: a list of rules, each C(NAME CONSTRAINT) text (C(openssl<3.0.14),
        C(xz==5.6.0, xz==5.6.1) is two rules as C(xz >=5.6.0, <=5.6.1) is one) or a dict C({name, version,
        id, reason}) (C(id) such as a CVE, shown with C(reason)); or the path of a JSON file on the
        controller, C({\"deny\": [rules], \"allow\": [exceptions]}) or a list of rules (the shape a
        vulnerability feed is exported to, see docs/security.md)."
    type: raw
    default: []
  allow_packages:
    description:
      - "Exceptions, each C({name, version, expires, reason, hosts}): a denied version of C(name) that
        C(version) (a constraint) covers passes on C(hosts) (none - every host) until C(expires)
        (C(YYYY-MM-DD)); C(reason) is required."
    type: list
    elements: raw
    default: []
  store:
    description: Read the closures from this store (a binary cache URL, such as a manifest's) instead of the controller's.
    type: str
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Check every new system against the denied packages
  nixfleet.nixos.package_gate:
    paths: "{{ nixos_deploy_build.paths }}"
    deny_packages:
      - openssl<3.0.14
      - {name: xz, version: ">=5.6.0, <=5.6.1", id: CVE-2024-3094, reason: backdoored release}
    allow_packages:
      - {name: openssl, version: "==3.0.13", hosts: [legacy-01], expires: 2026-12-31, reason: isolated appliance}
  run_once: true
"""

RETURN = r"""
failed_hosts:
  description: The refused hosts, each with why (the package, its version, the rule, the chain).
  returned: success
  type: dict
refused:
  description: Per refused host, each denied store path with C(name), C(version), C(chain), C(denied_by), C(id), C(reason).
  returned: success
  type: dict
allowed:
  description: Per host, each denied store path an exception let through, the same plus C(allowed) (C(rule), C(expires), C(reason)).
  returned: success
  type: dict
checked:
  description: Per host, what was read, C(closure) or C(build inputs).
  returned: success
  type: dict
"""
