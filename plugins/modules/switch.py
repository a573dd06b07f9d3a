# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: switch
short_description: Switch a NixOS host to a system (switch, boot, test, dry-activate)
version_added: 0.1.0
description:
  - Makes O(path) the host's system, the way nixos-rebuild does, over the Ansible connection
    (no Python needed on the host).
  - Does nothing (C(changed=false)) when C(/run/current-system) (for C(switch) and C(test)) and
    the profile (for C(switch) and C(boot)) already point at O(path).
  - Otherwise records the previous generation, sets the profile with C(nix-env -p PROFILE --set)
    (C(switch), C(boot)), and runs C(PATH/bin/switch-to-configuration ACTION) under C(systemd-run)
    when the host runs systemd, else detached from the ssh session (C(setsid)), so a dropped
    connection cannot kill it.
  - Exit code 4 (switched, some units failed) is a warning and RV(failed_units), not a silent success.
  - The change runs on the target as one detached script holding the host's deploy lock; any
    activation failure, or C(/run/current-system) not pointing at O(path) afterwards, B(rolls back)
    on the target before the task fails; the profile goes back to the previous generation (the failed
    one is deleted), and the previous system is activated again.
  - With O(magic_rollback), the controller confirms over a fresh ssh connection; without
    confirmation the target rolls itself back (see O(confirm_timeout)).
  - Refuses a path that is not a NixOS system toplevel (no C(nixos-version) or C(bin/switch-to-configuration)).
  - With C(--diff), shows C(nix store diff-closures) between the running and the new system (in
    check mode, between their derivations on the controller, since nothing is built).
extends_documentation_fragment:
  - nixfleet.nixos.nix
  - nixfleet.nixos.nix.profile
  - nixfleet.nixos.nix.safety
  - nixfleet.nixos.nix.transfer
  - nixfleet.nixos.nix.ssh_store
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
options:
  path:
    description: The system toplevel store path, in the host's store (see M(nixfleet.nixos.copy_closure)) or put there with O(copy).
    type: str
    required: true
  copy:
    description:
      - Put O(path) on the host first when it lacks it, as M(nixfleet.nixos.copy_closure) would, with
        the transfer options (O(mode), O(cache_url), O(from_store), O(scheme), O(check_sigs),
        O(copy_lock_timeout), O(build_on_target)); the switch's own probe says whether it is there
        (a path the store does not hold as valid counts as missing), so an unchanged host costs one
        round trip and one task. The deploy role copies this way.
      - A failed copy fails the task before anything else changes (keys included).
    type: bool
    default: false
  build_on_target:
    description: With O(copy), build O(path) on the host from O(drv_path) instead of copying it (see M(nixfleet.nixos.copy_closure)).
    type: bool
    default: false
  action:
    description: What C(switch-to-configuration) does. C(dry-activate) only reports and never changes anything.
    type: str
    default: switch
    choices: [switch, boot, test, dry-activate]
  drv_path:
    description: The derivation of O(path) (RV(nixfleet.nixos.build#module:drv_paths)), for the check-mode diff and O(build_on_target).
    type: str
  package_changes:
    description:
      - After a switch that changed the host, compare the old and the new closure package by package
        (one C(nix store diff-closures) on the target) and return RV(package_changes), which the deploy
        report shows. With C(--diff) this is done whatever this says, in check mode too (between the
        derivations, on the controller).
    type: bool
    default: true
  on_inhibited:
    description:
      - What to do when NixOS's switch inhibitors (C(system.switch.inhibitors), NixOS 26.05) of O(path)
        differ from the running system's, so C(switch-to-configuration switch) or C(test) would refuse
        ("Pre-switch check 'switchInhibitors' failed"). Checked before anything changes.
      - C(fail) fails the task saying why, with the host unchanged. C(boot) (for O(action=switch)) makes
        O(path) the boot entry instead and returns RV(inhibited) and RV(needs_reboot); the deploy role
        then reboots the host into it. Never a rollback.
    type: str
    default: fail
    choices: [fail, boot]
  specialisation:
    description:
      - Activate C(PATH/specialisation/NAME) instead of O(path) itself, like C(nixos-rebuild --specialisation),
        for O(action=switch) or O(action=test). The profile (so the boot entry) still becomes O(path),
        the base system; C(/run/current-system) becomes the specialisation's own toplevel.
      - A system without that specialisation fails before anything changes, naming the ones it has.
    type: str
  install_bootloader:
    description:
      - Reinstall the boot loader (C(NIXOS_INSTALL_BOOTLOADER=1) in the activation's environment, as
        C(nixos-rebuild --install-bootloader)); for O(action=switch) and O(action=boot).
    type: bool
    default: false
  keys:
    description:
      - "Secret files to upload with the switch, in colmena's C(deployment.keys) shape: a dict of key
        names to C(text) or C(keyFile) or C(keyCommand), and C(name), C(destDir), C(user), C(group),
        C(permissions), C(uploadAt), with colmena's defaults (C(destDir=/run/keys), C(root:root), C(0600),
        C(uploadAt=pre-activation)). M(nixfleet.nixos.flake_keys) reads them from a flake; the deploy
        role adds C(nixos_deploy_keys)."
      - Every key's content is made on the controller first (C(text); C(keyFile), a file on the
        controller; C(keyCommand), a program and its arguments run there without a shell, its
        standard output), so a bad key, a missing C(keyFile) or a failing C(keyCommand) fails the host
        before anything is uploaded or switched.
      - C(pre-activation) keys are written before the switch, C(post-activation) keys after it (their
        user and group may come with the new system). Each is written atomically (a temporary file
        in the same directory, chowned and chmodded, then renamed) and only when its content, owner
        or mode differs. Check mode writes nothing; C(--diff) shows path, owner, mode and whether the
        content changes, never the content; the values are C(no_log).
    type: dict
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Switch to the new system
  nixfleet.nixos.switch:
    path: "{{ nixos_build.paths[inventory_hostname] }}"
    drv_path: "{{ nixos_build.drv_paths[inventory_hostname] }}"

- name: Make it the boot default only
  nixfleet.nixos.switch:
    path: "{{ nixos_build.paths[inventory_hostname] }}"
    action: boot
"""

RETURN = r"""
changed:
  description: Whether the profile or the running system changed (or would, in check mode), a key was written, or O(copy) copied.
  returned: always
  type: bool
copied:
  description: Whether O(copy) put O(path) on the host in this run.
  returned: always
  type: bool
switched:
  description: Whether the profile or the running system changed (or would, in check mode) - RV(changed) without the copy and the keys.
  returned: always
  type: bool
mode:
  description: How O(copy) gets the closure there (O(mode)).
  returned: with O(copy)
  type: str
built_on_target:
  description: Whether O(copy) built O(path) on the host (O(build_on_target)) in this run.
  returned: with O(copy)
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
inhibited:
  description: The live switch was inhibited and O(path) was made the boot entry instead (O(on_inhibited=boot)).
  returned: always
  type: bool
keys_changed:
  description: The key files that were (in check mode, would be) written (O(keys)).
  returned: always
  type: list
  elements: str
specialisation:
  description: The specialisation that was activated (O(specialisation)), or null.
  returned: always
  type: str
activated_path:
  description: The specialisation's own toplevel, which now runs (null without a specialisation).
  returned: always
  type: str
install_bootloader:
  description: Whether the activation ran with C(NIXOS_INSTALL_BOOTLOADER=1).
  returned: always
  type: bool
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
package_changes:
  description:
    - What changed between the running and the new system, per package name, parsed from
      C(nix store diff-closures) (in check mode, between the derivations, without sizes).
    - C(kind) is C(added), C(removed), C(changed) (the versions) or C(size) (only the size);
      C(before) and C(after) list versions (an empty string for a package without one);
      C(size_delta) is in bytes, when Nix reports it (a change of 8 KiB or more).
  returned: when the host changed (real run), or with C(--diff)
  type: list
  elements: dict
  sample:
    - {name: openssl, kind: changed, before: ["3.0.13"], after: ["3.0.14"], size_delta: 1229}
    - {name: jq, kind: added, before: [], after: ["1.7.1"], size_delta: 412672}
rolled_back:
  description: The activation failed, or could not be confirmed, and the host was put back on its previous generation.
  returned: on failure after activation
  type: bool
confirmation:
  description: C(confirmed), C(not requested) (no magic rollback, or C(boot)), or, in a failure, C(lost contact, target rolled itself back).
  returned: always
  type: str
nixfleet_timing:
  description:
    - When the task ran on this host; every nixfleet.nixos action returns it (the deploy report's
      times come from it). Not C(started)/C(finished), which are result keys ansible-core owns.
  returned: always
  type: dict
  contains:
    started:
      description: When the task started (seconds since the epoch).
      type: float
      returned: always
    finished:
      description: When the task finished (seconds since the epoch).
      type: float
      returned: always
timings:
  description:
    - Seconds the copy (C(copy), when O(copy) copied), the activation (C(activation) - the rest of the
      switch) and magic rollback's confirmation (C(confirmation), when it ran) took. The deploy report shows them.
  returned: success
  type: dict
  sample: {"copy": 12.5, "activation": 3.1, "confirmation": 1.4}
needs_reboot:
  description:
    - Whether, afterwards, the host runs a kernel other than the one it booted, or its switch was
      inhibited and it must reboot to run O(path).
  returned: when not in check mode
  type: bool
stdout:
  description: What the activation printed.
  returned: when activation ran
  type: str
stderr:
  description: What the activation printed on stderr.
  returned: when activation ran
  type: str
"""
