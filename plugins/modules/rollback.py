# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: rollback
short_description: Roll a NixOS host back to the previous generation or to generation N
version_added: 0.1.0
description:
  - Switches the profile to the generation before the current one (or to O(generation)) and
    activates it, with the same rules as M(nixfleet.nixos.switch) (systemd-run or detached,
    exit code 4, undo on failure, idempotent).
extends_documentation_fragment:
  - nixfleet.nixos.nix.profile
  - nixfleet.nixos.nix.safety
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
options:
  generation:
    description: The generation number to go to. Default the newest generation older than the current one.
    type: int
  action:
    description: How to activate it.
    type: str
    default: switch
    choices: [switch, boot, test]
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Back to the previous generation
  nixfleet.nixos.rollback:

- name: Back to generation 12, from the next boot on
  nixfleet.nixos.rollback:
    generation: 12
    action: boot
"""

RETURN = r"""
changed:
  description: Whether the profile or the running system changed (or would, in check mode).
  returned: always
  type: bool
action:
  description: The activation action.
  returned: always
  type: str
path:
  description: The system store path switched to.
  returned: always
  type: str
previous_path:
  description: The system that was running before (C(/run/current-system)).
  returned: always
  type: str
deployed_by:
  description:
    - Who made the change (C(user@controller), and the AWX job and user under AWX), as the host's audit
      log (C(/nix/var/nixfleet/audit.log)) records it with the outcome; see M(nixfleet.nixos.facts).
  returned: when the host changed
  type: str
  sample: "alice@ctl, AWX job 42 by bob"
previous_generation:
  description: The profile generation that was current before.
  returned: always
  type: int
generation:
  description: The profile generation that is current after.
  returned: always
  type: int
exit_code:
  description: The exit code of C(switch-to-configuration), when it ran.
  returned: when activation ran
  type: int
failed_units:
  description: C(switch-to-configuration) exited 4, which NixOS uses for "switched, but some units failed". A warning says so too.
  returned: always
  type: bool
rolled_back:
  description: The activation failed, or could not be confirmed, and the host was put back on its previous generation.
  returned: on failure after activation
  type: bool
confirmation:
  description: C(confirmed), C(not requested) (no magic rollback, or C(boot)), or, in a failure, C(lost contact, target rolled itself back).
  returned: always
  type: str
stdout:
  description: What the activation printed.
  returned: when activation ran
  type: str
stderr:
  description: What the activation printed on stderr.
  returned: when activation ran
  type: str
"""
