# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: deploy_report
short_description: Summarize a deploy per host - generations, system, closure size, reboot, health, time
version_added: 0.1.0
description:
  - Reads the deploy role's results for O(hosts) (from C(hostvars)) and reports, per host, the old and
    new generation, the store path, the closure size and its change, whether a reboot is needed,
    the health checks and how long the host took; hosts that failed or were not reached say so.
  - Prints a table, returns the rows (C(report)), and with O(output_dir) writes
    C(deploy-report.json), C(deploy-report.md) and C(deploy-report.txt) there (for CI or AWX artifacts).
  - C(playbooks/deploy.yml) runs it at the end. Runs on the controller; use C(run_once).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
  - nixfleet.nixos.nix.read_only
options:
  hosts:
    description: The hosts to report on.
    type: list
    elements: str
    required: true
  output_dir:
    description: A directory on the controller for the JSON, Markdown and text reports.
    type: path
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Report
  nixfleet.nixos.deploy_report:
    hosts: "{{ query('inventory_hostnames', 'nixos') }}"
    output_dir: "{{ playbook_dir }}/reports"
  run_once: true
"""

RETURN = r"""
report:
  description: One entry per host.
  returned: success
  type: list
  elements: dict
table:
  description: The text table, line by line.
  returned: success
  type: list
  elements: str
files:
  description: The report files written.
  returned: success
  type: list
  elements: str
"""
