# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: sops_config_check
short_description: Check that .sops.yaml encrypts a host's secrets files for that host
version_added: 0.1.0
description:
  - Reads the repository's C(.sops.yaml) on the controller and, for each of the host's secrets
    files, finds the creation rule sops would use (the first whose C(path_regex) matches the file's
    path relative to the directory of C(.sops.yaml); a rule without C(path_regex) matches every file).
  - Reports drift when no rule covers a file, or when the rule's recipients (C(age), a list or a
    comma-separated string, and every C(key_groups[].age)) do not include any of the host's O(recipients).
  - Fails on drift, or only warns with O(fail_on_drift=false). Changes nothing.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
  - nixfleet.nixos.nix.read_only
options:
  config:
    description: The C(.sops.yaml) file on the controller.
    type: path
    required: true
  files:
    description: The host's secrets files, relative to the directory of O(config).
    type: list
    elements: str
    required: true
  recipients:
    description: The host's age recipients (for example from M(nixfleet.nixos.age_recipient)).
    type: list
    elements: str
    required: true
  fail_on_drift:
    description: Fail the host on drift; otherwise report it as a warning.
    type: bool
    default: true
seealso:
  - module: nixfleet.nixos.age_recipient
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Is every host's recipient in the rules that cover its secrets?
  nixfleet.nixos.sops_config_check:
    config: "{{ playbook_dir }}/../.sops.yaml"
    files: ["secrets/{{ inventory_hostname }}.yaml", secrets/common.yaml]
    recipients: "{{ host_age.recipients }}"
"""

RETURN = r"""
drift:
  description: Whether any file's rule misses the host.
  returned: success
  type: bool
problems:
  description: One message per file that is not covered.
  returned: success
  type: list
  elements: str
coverage:
  description: Per file, the rule that covers it and whether it lists the host.
  returned: success
  type: list
  elements: dict
  contains:
    file:
      description: The file, relative to the directory of C(.sops.yaml).
      type: str
    rule:
      description: The rule sops would use (C(creation_rules[N] (path_regex …))), or null.
      type: str
    covered:
      description: Whether that rule lists one of the host's recipients.
      type: bool
"""
