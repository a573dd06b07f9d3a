# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: cache_push
short_description: Sign store paths and copy them to a binary cache, in one nix copy
version_added: 0.1.0
description:
  - Signs O(paths) and their closures in the controller's store with O(secret_key_file)
    (C(nix store sign --recursive)) and copies them with one C(nix copy --to O(to)) - all hosts'
    systems at once; targets then pull from the cache in parallel instead of each being pushed to.
  - O(to) may be C(file:///dir) (a directory on the controller), C(http(s)://host) where the server
    accepts uploads (HTTP C(PUT), as M(nixfleet.nixos.binary_cache) does for allowed addresses), or
    C(s3://bucket?region=...) (credentials from the usual AWS environment or profile).
  - Only paths not already in the cache are signed and copied (C(changed=false) otherwise); after the
    copy every path must be in the cache with the key's signature.
  - Runs on the controller; use C(run_once).
extends_documentation_fragment:
  - nixfleet.nixos.nix
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
options:
  paths:
    description: Store paths to push (for example every host's built system).
    type: list
    elements: str
    required: true
  to:
    description: The binary cache's URL.
    type: str
    required: true
  secret_key_file:
    description: The signing key on the controller (see M(nixfleet.nixos.cache_key)); without it paths are pushed unsigned.
    type: path
seealso:
  - module: nixfleet.nixos.binary_cache
  - module: nixfleet.nixos.copy_closure
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Push all systems to the cache once
  nixfleet.nixos.cache_push:
    paths: "{{ nixos_deploy_build.paths.values() | list }}"
    to: http://cache.internal:8081
    secret_key_file: "{{ inventory_dir }}/keys/cache.sec"
  run_once: true
"""

RETURN = r"""
pushed:
  description: The paths that were (or would be) copied.
  returned: success
  type: list
  elements: str
paths:
  description: Every path asked for.
  returned: success
  type: list
  elements: str
url:
  description: The cache.
  returned: success
  type: str
signed_by:
  description: The signing key's name, or null.
  returned: success
  type: str
"""
