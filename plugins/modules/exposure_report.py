# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: exposure_report
short_description: A fleet's exposure to a package - which hosts, which systems, why
version_added: 0.1.0
description:
  - Reads each host's M(nixfleet.nixos.exposure) result (registered as O(result_var)) from
    C(hostvars) and reports a row per system of each host - its store path, what it is there
    (running, booted, generation N), the package's versions in it, whether one matches and the
    chain that pulls the first match in - and which hosts have a matching version now, in the
    booted system, after the next boot and after a rollback. A host whose scan failed or that was
    not reached says so.
  - Returns the table, the rows (C(report)) for AWX artifacts (C(set_stats)), and with O(output_dir)
    writes C(exposure-report.json), C(exposure-report.md) and C(exposure-report.txt) there (not in
    check mode). Runs on the controller; use C(run_once). C(playbooks/exposure.yml) runs it.
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
  result_var:
    description: The variable each host registered its M(nixfleet.nixos.exposure) result in.
    type: str
    default: nixos_exposure
  output_dir:
    description: A directory on the controller for the JSON, Markdown and text reports.
    type: path
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Report the fleet's exposure
  nixfleet.nixos.exposure_report:
    hosts: "{{ ansible_play_hosts_all }}"
    output_dir: reports
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
report:
  description: One entry per host, the fields of its M(nixfleet.nixos.exposure) result, or C(error).
  returned: success
  type: list
  elements: dict
table:
  description: The text table and the summary, line by line.
  returned: success
  type: list
  elements: str
exposed_hosts:
  description: The hosts that have a matching version in some system.
  returned: success
  type: list
  elements: str
failed_hosts:
  description: The hosts that could not be read.
  returned: success
  type: list
  elements: str
files:
  description: The report files written.
  returned: success
  type: list
  elements: str
"""
