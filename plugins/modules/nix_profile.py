# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: nix_profile
short_description: Point a named Nix profile at a set of packages, or roll it back
version_added: 0.1.0
description:
  - With O(state=present), makes the profile (default C(/nix/var/nix/profiles/NAME)) point at O(path),
    an environment built by M(nixfleet.nixos.profile_build) - copying its closure the same ways as the
    deploy path (O(mode)) and running C(nix-env -p PROFILE --set). Nothing is copied or set when the
    profile already points there (C(changed=false)).
  - With O(state=rollback), switches the profile to its previous generation, or to O(generation).
  - The diff shows the package set before and after (names and versions); C(package_changes) lists
    what is added, removed and changed.
  - Optionally links the profile's C(bin/) into O(bin_dir) (links point at the profile, so later
    generations apply; a file that is not such a link is never replaced) and writes
    C(/etc/profile.d/nix-profile-NAME.sh) to put it on C(PATH).
  - Works on hosts with Nix beside any distribution, and needs no Python there.
extends_documentation_fragment:
  - nixfleet.nixos.nix
  - nixfleet.nixos.nix.ssh_store
  - nixfleet.nixos.nix.transfer
  - nixfleet.nixos.nix.safety
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
attributes:
  check_mode:
    support: full
    details: Reports and diffs what would change; links and profile.d are not previewed.
  diff_mode:
    support: full
    details: The package set, one C(name version) per line.
options:
  name:
    description: The profile's name (C(/nix/var/nix/profiles/NAME)).
    type: str
  profile:
    description: The profile's path, instead of O(name).
    type: str
  state:
    description: Set the profile to O(path), or roll it back.
    type: str
    default: present
    choices: [present, rollback]
  path:
    description: The environment's store path (with O(state=present)).
    type: str
  packages:
    description: Its package store paths (from M(nixfleet.nixos.profile_build)), for the diff; read from the controller's store when not given.
    type: list
    elements: str
  generation:
    description: The generation to roll back to (default the previous one).
    type: int
  bin_dir:
    description: A directory on C(PATH) to link the profile's C(bin/) into, for example C(/usr/local/bin).
    type: str
  profile_d:
    description: Write C(/etc/profile.d/nix-profile-NAME.sh), which puts the profile's C(bin/) on C(PATH).
    type: bool
    default: false
  activate:
    description:
      - Set the profile and run its C(deploy-rs-activate) (what deploy-rs' C(activate.custom) writes)
        with C(PROFILE) in the environment, as deploy-rs does for profiles other than C(system) - in
        the same transaction as a system's switch (M(nixfleet.nixos.switch)), that is under the host's deploy
        lock, with magic rollback's watchdog (O(magic_rollback), O(confirm_timeout)), auto rollback
        (O(auto_rollback), a failed activation sets the profile back and activates that generation
        again), O(activation_timeout) and an entry in the host's audit log. A profile without that
        script is only set. Also with O(state=rollback).
      - The other options of the transaction (O(magic_rollback) and so on) apply only with O(activate).
    type: bool
    default: false
  user:
    description:
      - With O(activate), the profile's user (deploy-rs' C(user)). Root runs the transaction and
        C(runuser -u USER) sets and activates the profile as that user. A user name, nothing else.
    type: str
    default: root
seealso:
  - module: nixfleet.nixos.profile_build
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Ops tools on every host, on PATH
  nixfleet.nixos.nix_profile:
    name: ops-tools
    path: "{{ tools.paths[inventory_hostname] }}"
    packages: "{{ tools.packages[inventory_hostname] }}"
    bin_dir: /usr/local/bin

- name: Back to the previous tools
  nixfleet.nixos.nix_profile:
    name: ops-tools
    state: rollback
"""

RETURN = r"""
activated:
  description: Whether an activation script ran (O(activate); only when the profile changed).
  returned: when O(activate) and the profile changed
  type: bool
confirmation:
  description: C(confirmed) (magic rollback's watchdog was confirmed over a fresh connection) or C(not requested).
  returned: when O(activate) and the profile changed
  type: str
profile:
  description: The profile.
  returned: success
  type: str
path:
  description: The store path it points at (or would).
  returned: success
  type: str
generation:
  description: Its current generation afterwards.
  returned: success
  type: int
previous_generation:
  description: Its generation before.
  returned: success
  type: int
packages:
  description: The packages (C(name version)) it holds afterwards.
  returned: success
  type: list
  elements: str
package_changes:
  description: C(added), C(removed) and C(changed) packages.
  returned: success
  type: dict
links:
  description: Links made or removed, and profile.d scripts written.
  returned: success
  type: list
  elements: str
"""
