# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: nix_conf
short_description: Manage substituters, trusted keys and other settings in nix.conf
version_added: 0.1.0
description:
  - On hosts where C(/etc/nix/nix.conf) is a regular file (Nix installed beside a distribution),
    sets the given settings in place. The first line of each managed setting is replaced (later
    duplicates, which would override it, are dropped), unset ones are appended, and every other
    line and comment is kept exactly. A value already equal word for word is not rewritten.
  - Values are validated before anything changes (store URLs Nix understands, public keys
    C(name:base64) of 32 bytes, users and C(@groups), absolute paths); so is the existing file
    (a line that is not C(name = value), C(include), a comment or blank fails, naming it).
  - The file is written atomically (keeping its mode), optionally backed up; C(nix-daemon) is
    restarted only when something changed and a daemon serves this host's store (C(systemctl restart)
    of its unit where systemd runs it, otherwise that process, found by PID, is stopped and started
    again). Only the host's own daemon counts, the one whose root and store are the host's and that
    listens on C(/nix/var/nix/daemon-socket/socket), never another host's, container's or chroot's
    that C(/proc) shows too; with none, nothing is restarted and no daemon is started.
  - On NixOS (C(/etc/nix/nix.conf) is a link into the Nix store) nothing is written; the module
    reads the running configuration (C(nix show-config --json)) and fails, saying to set
    C(nix.settings) in the flake, when it lacks anything requested.
  - Needs no Python on the target.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff of nix.conf; a netrc's content is never shown.
options:
  substituters:
    description: C(substituters), exactly these URLs.
    type: list
    elements: str
  extra_substituters:
    description: C(extra-substituters) (added to the default substituters).
    type: list
    elements: str
  trusted_substituters:
    description: C(trusted-substituters) (users may opt in to these).
    type: list
    elements: str
  trusted_public_keys:
    description: C(trusted-public-keys), each C(name:base64) as C(nix-store --generate-binary-cache-key) writes it.
    type: list
    elements: str
  extra_trusted_public_keys:
    description: C(extra-trusted-public-keys).
    type: list
    elements: str
  trusted_users:
    description: C(trusted-users) (users and C(@groups) that may, among other things, import unsigned paths).
    type: list
    elements: str
  netrc_file:
    description: C(netrc-file); must exist and be readable on the host unless O(netrc_content) writes it.
    type: str
  netrc_content:
    description: The netrc's text (credentials for a private cache), written to O(netrc_file) with mode C(0600). Never shown.
    type: str
  settings:
    description: Any other settings, C(name) to a string, list or boolean (for example C(require-sigs), C(connect-timeout)).
    type: dict
    default: {}
  remove:
    description: Settings to remove from the file.
    type: list
    elements: str
    default: []
  path:
    description: The nix.conf to manage.
    type: str
    default: /etc/nix/nix.conf
  backup:
    description: Keep a copy of the old file next to it (C(nix.conf.DATE~)) when changing it.
    type: bool
    default: false
  restart_daemon:
    description: Restart a running C(nix-daemon) after a change, so that it reads the new settings.
    type: bool
    default: true
seealso:
  - module: nixfleet.nixos.copy_closure
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Use the team's cache, and trust its key
  nixfleet.nixos.nix_conf:
    extra_substituters: [https://cache.example.org]
    extra_trusted_public_keys: ["cache.example.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="]
    netrc_file: /etc/nix/netrc
    netrc_content: "machine cache.example.org password {{ vault_cache_token }}"
"""

RETURN = r"""
path:
  description: The nix.conf.
  returned: success
  type: str
nixos:
  description: Whether it is a NixOS store link (verified, not written).
  returned: success
  type: bool
changes:
  description: What changed (or would change), one line per setting.
  returned: success
  type: list
  elements: str
daemon_restarted:
  description: Whether nix-daemon was restarted.
  returned: success
  type: bool
daemon_pid:
  description: The restarted daemon's PID.
  returned: when the daemon was restarted
  type: int
backup_file:
  description: The backup of the old file.
  returned: when O(backup=true) and the file changed
  type: str
problems:
  description: On NixOS, what the running configuration lacks.
  returned: on NixOS hosts
  type: list
  elements: str
"""
