# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: generations
short_description: Prune a Nix profile's old generations and collect the store's garbage
version_added: 0.2.0
description:
  - Deletes the generations of O(profile) that the retention policy does not keep (the
    O(keep_last) newest and/or those younger than O(keep_days) days), then optionally runs
    C(nix-store --gc) and reports the bytes it freed.
  - "Never deleted: the profile's current generation, the running system (C(/run/current-system)),
    the booted system (C(/run/booted-system)) and the systems in O(protect). The running, booted and
    protected systems are also held by temporary GC roots while the store is collected."
  - The host's deploy lock is held from the check to the end, so no deploy runs in between; when
    the profile or the running system changed since they were read, nothing is deleted and the
    task fails asking for a new run.
  - Works on any profile (package profiles too) and on hosts without Python (POSIX sh, coreutils,
    C(flock), C(nix-env), C(nix-store)).
extends_documentation_fragment:
  - nixfleet.nixos.nix.profile
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
options:
  keep_last:
    description:
      - Keep this many newest generations (by number). V(0) keeps only those that are always kept.
      - With O(keep_days) as well, a generation that either keeps stays.
      - Without O(keep_last) and O(keep_days), no generation is deleted (O(collect_garbage) alone).
    type: int
  keep_days:
    description:
      - Keep the generations younger than this many days (by the host's clock and the date of the
        generation's link). A generation whose date cannot be read is kept.
    type: int
  protect:
    description:
      - System store paths whose generations are never deleted, e.g. the system a deploy just switched
        to (the deploy role passes it).
    type: list
    elements: str
    default: []
  boot_entries:
    description:
      - After deleting generations of the system profile, run its current system's
        C(switch-to-configuration boot), so the boot menu no longer lists the deleted ones (as
        C(nixos-rebuild boot) after C(nix-collect-garbage -d)). Ignored for other profiles.
    type: bool
    default: true
  collect_garbage:
    description: After pruning, delete every store path no GC root reaches (C(nix-store --gc)).
    type: bool
    default: false
  max_freed:
    description:
      - Stop collecting after freeing this much (C(--max-freed)); bytes, or with K, M, G or T (powers
        of 1024), e.g. V(10G).
    type: str
  min_free:
    description:
      - Collect only when the store's file system has less than this free (same units as
        O(max_freed)). Pruning happens either way.
    type: str
  lock_timeout:
    description: Seconds to wait for a deploy that holds the host's deploy lock.
    type: int
    default: 60
attributes:
  check_mode:
    support: full
    details: Lists the generations that would go; with O(collect_garbage), counts the store paths that are garbage now.
  diff_mode:
    support: full
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Keep the last 5 generations and those of the last 14 days, then collect garbage
  nixfleet.nixos.generations:
    keep_last: 5
    keep_days: 14
    collect_garbage: true

- name: Collect at most 20 GiB, and only when /nix has less than 10 GiB free
  nixfleet.nixos.generations:
    collect_garbage: true
    max_freed: 20G
    min_free: 10G

- name: Prune a package profile
  nixfleet.nixos.generations:
    profile: /nix/var/nix/profiles/per-user/root/tools
    keep_last: 3
"""

RETURN = r"""
changed:
  description: Whether generations were deleted or store paths freed (in check mode, would be).
  returned: always
  type: bool
profile:
  description: The profile.
  returned: always
  type: str
deleted:
  description: The generations deleted (in check mode, that would be), oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    number:
      description: The generation number.
      type: int
    path:
      description: The store path it pointed at.
      type: str
    date:
      description: When it was made (epoch seconds).
      type: int
    current:
      description: Always false.
      type: bool
kept:
  description: The generations kept and why (current, running, booted, protected, last, recent, undated).
  returned: always
  type: list
  elements: dict
  sample: [{"number": 7, "reasons": ["current", "running", "last"]}]
collected:
  description: Whether the store was collected (in check mode, would be).
  returned: always
  type: bool
bytes_freed:
  description: The bytes C(nix-store --gc) says it freed, to the precision it prints (0.01 MiB on Nix 2.8 to 2.26, one decimal of KiB, MiB or GiB on 2.34).
  returned: always
  type: int
paths_freed:
  description: The store paths it deleted.
  returned: always
  type: int
dead_paths:
  description: In check mode with O(collect_garbage), the store paths that are garbage now (before pruning).
  returned: check mode
  type: int
nix_store_free_bytes:
  description: Bytes free on the file system of C(/nix/store) after the task.
  returned: always
  type: int
nix_store_free_bytes_before:
  description: Bytes free before.
  returned: when something was deleted
  type: int
"""
