# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: health_check
short_description: Check that a host is healthy (cmd, http, systemd), with retries
version_added: 0.1.0
description:
  - Runs each check until it passes or its attempts are used up, morph-style
    (O(checks[].retries) more attempts after the first, O(checks[].delay) seconds apart, each
    limited to O(checks[].timeout) seconds). Fails when any check fails, naming the host and the checks.
  - C(cmd) runs O(checks[].argv) on the target (success is exit code 0).
  - C(http) requests O(checks[].url) (or O(checks[].scheme)://O(checks[].host):O(checks[].port)O(checks[].path))
    from the controller or, with O(checks[].from=target), from the target with C(curl); success is an
    expected O(checks[].status) (default any 2xx) and, optionally, a body matching O(checks[].body).
  - C(systemd) wants C(systemctl is-system-running) to say C(running) and no failed units; a host
    without systemd passes it.
  - The deploy role runs it after switching; a failure rolls the host back.
  - Needs no Python on the target.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
options:
  checks:
    description: The checks.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: What the check is called in messages.
        type: str
      type:
        description: The kind of check.
        type: str
        required: true
        choices: [cmd, http, systemd]
      argv:
        description: The command for C(cmd), as a list.
        type: list
        elements: str
      url:
        description: The URL for C(http).
        type: str
      host:
        description: The host for C(http) without O(checks[].url).
        type: str
      port:
        description: The port for C(http) without O(checks[].url).
        type: int
      path:
        description: The path for C(http) without O(checks[].url).
        type: str
      scheme:
        description: The scheme for C(http) without O(checks[].url).
        type: str
        default: http
        choices: [http, https]
      status:
        description: The acceptable status codes. Default any 2xx.
        type: list
        elements: int
      body:
        description: A regular expression the response body must match.
        type: str
      json_query:
        description:
          - A JMESPath expression (as in Ansible's C(json_query) filter) over the response body, read
            as JSON; the check passes when its value is true in JMESPath's sense (not C(false),
            C(null), an empty string, list or object), for example
            C(status == 'ok' && length(errors) == `0`).
          - A body that is not JSON, or a value that is not true, fails the attempt with a message
            showing the expression and the value it found. Needs the Python package C(jmespath) on
            the controller (also when the request comes C(from) the target).
        type: str
      validate_certs:
        description: Verify TLS certificates.
        type: bool
        default: true
      from:
        description: Where the C(http) request comes from.
        type: str
        default: controller
        choices: [controller, target]
      retries:
        description: Attempts after the first.
        type: int
        default: 5
      delay:
        description: Seconds between attempts.
        type: float
        default: 2
      timeout:
        description: Seconds one attempt may take.
        type: float
        default: 5
attributes:
  check_mode:
    support: full
    details: Runs no check in check mode.
  diff_mode:
    support: none
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: The web service answers with the new version, and systemd is happy
  nixfleet.nixos.health_check:
    checks:
      - name: web
        type: http
        url: "http://{{ ansible_host }}:8080/"
        body: "{{ inventory_hostname }}"
      - name: the app reports itself healthy (JSON)
        type: http
        url: "http://{{ ansible_host }}:8080/health.json"
        json_query: "status == 'ok' && length(errors) == `0`"
      - name: database
        type: cmd
        argv: [pg_isready, -q]
        retries: 10
      - type: systemd
"""

RETURN = r"""
checks:
  description: One result per check.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The check's name.
      type: str
    type:
      description: The check's type.
      type: str
    ok:
      description: Whether it passed.
      type: bool
    attempts:
      description: How many attempts were made.
      type: int
    message:
      description: C(ok), or why it failed.
      type: str
"""
