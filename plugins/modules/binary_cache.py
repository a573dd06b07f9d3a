# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: binary_cache
short_description: Serve a Nix file binary cache over HTTP with nginx
version_added: 0.1.0
description:
  - Turns the host into an HTTP binary cache - a directory in Nix's file binary cache layout
    (C(nix-cache-info), C(*.narinfo), C(nar/)) served by nginx on O(listen_address):O(port).
  - Everyone may read; uploads (HTTP C(PUT), which C(nix copy --to http://...) uses) are accepted
    only from O(upload_allow). Paths arrive signed by the controller (M(nixfleet.nixos.cache_push));
    no signing key is kept on the cache host.
  - A new nginx configuration is tested (C(nginx -t)) before it replaces the old one; nginx is started
    when it is not running and reloaded when its configuration changed. Where systemd runs, a unit
    C(nixfleet-binary-cache.service) runs it; elsewhere nginx runs by itself with its pid file in O(state_dir).
  - Idempotent (C(changed=false) when everything is in place). Needs nginx (with the DAV module, as
    Debian's) on the host, and no Python.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff of the nginx configuration.
options:
  listen_address:
    description: The address nginx listens on.
    type: str
    required: true
  port:
    description: The port nginx listens on.
    type: int
    default: 8081
  path:
    description: The cache directory.
    type: str
    default: /var/cache/nixfleet/binary-cache
  state_dir:
    description: nginx's pid file, logs and temporary files.
    type: str
    default: /var/lib/nixfleet-binary-cache
  config:
    description: The nginx configuration file the module writes.
    type: str
    default: /etc/nixfleet/binary-cache-nginx.conf
  user:
    description: The user nginx's workers run as (it owns the cache directory, to write uploads).
    type: str
    default: www-data
  group:
    description: The group of nginx's workers (Debian's C(nobody) user has the group C(nogroup)).
    type: str
    default: www-data
  priority:
    description: The cache's C(Priority) in C(nix-cache-info) (lower is preferred).
    type: int
    default: 40
  upload_allow:
    description: Networks (CIDR) allowed to upload.
    type: list
    elements: str
    default: [127.0.0.0/8]
  nginx:
    description: The nginx executable.
    type: str
    default: nginx
seealso:
  - module: nixfleet.nixos.cache_push
  - module: nixfleet.nixos.cache_key
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Serve the team cache
  nixfleet.nixos.binary_cache:
    listen_address: "{{ ansible_host }}"
    port: 8081
    upload_allow: [10.0.0.5/32]
  register: cache
"""

RETURN = r"""
url:
  description: The cache's URL (for substituters and for cache_push).
  returned: success
  type: str
  sample: http://10.0.0.7:8081
path:
  description: The cache directory.
  returned: success
  type: str
changes:
  description: What was (or would be) done.
  returned: success
  type: list
  elements: str
"""
