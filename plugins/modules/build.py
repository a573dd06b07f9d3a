# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented by the action plugin of the same name (plugins/action/); this file
# only documents it, so that ansible-doc and ansible-test sanity see it.

from __future__ import annotations

DOCUMENTATION = r"""
module: build
short_description: Build the NixOS systems of many hosts with one nix build
version_added: 0.1.0
description:
  - Builds the system toplevel of every host given in O(hosts) (default the current batch of the
    play) with B(one) C(nix build --keep-going) on the controller, and returns each host's store path.
  - "Run it once per play (C(run_once: true)); the result is then every host's to read."
  - What to build comes from the host variables the nixfleet.nixos.flake inventory sets
    (C(nixos_flake), C(nixos_toplevel_attr)); without C(nixos_toplevel_attr) it builds
    C(nixosConfigurations."<host>".config.system.build.toplevel).
  - A host whose configuration does not evaluate or whose system fails to build is listed in
    RV(failed_hosts) with Nix's own message; the other hosts are built all the same.
  - In check mode nothing is built; every system is evaluated (C(drvPath), C(outPath)) in one C(nix eval).
extends_documentation_fragment:
  - nixfleet.nixos.nix
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - nixfleet.nixos.nix.attributes
options:
  hosts:
    description: The inventory names of the hosts to build. Default the play's current batch (C(ansible_play_batch)).
    type: list
    elements: str
  flake:
    description: Build from this flake ref instead of each host's C(nixos_flake).
    type: str
  on_target:
    description:
      - Hosts whose systems are built on the hosts themselves (deploy-rs C(remoteBuild), colmena
        C(buildOnTarget)) - only evaluated here, for their derivations (RV(drv_paths)), which
        M(nixfleet.nixos.copy_closure) with O(nixfleet.nixos.copy_closure#module:build_on_target) pushes and
        realises there.
      - Default, the hosts whose host var C(nixos_deploy_build_on) is C(target).
    type: list
    elements: str
  manifest:
    description:
      - A pre-built deploy - take each host's system from this manifest (written by
        M(nixfleet.nixos.deploy_manifest), C(playbooks/build.yml)) instead of evaluating and building
        anything. Checked on the controller first - a manifest that names a host the play does not
        have is refused whole; a host whose system is missing from the cache, is not a NixOS toplevel,
        or whose closure is not signed by one of O(trusted_public_keys) (C(nix store verify)) is failed
        with the reason; hosts the manifest does not name are failed.
    type: path
  manifest_cache:
    description: The binary cache the manifest's systems are in (default the manifest's C(cache)).
    type: str
  trusted_public_keys:
    description: With O(manifest), the keys (C(name:base64)) the systems' closures must be signed with.
    type: list
    elements: str
    default: []
  eval_workers:
    description:
      - How many C(nix eval) processes may evaluate the hosts' systems at the same time. C(0) means one
        per core of the controller.
      - The hosts are evaluated in chunks sized by O(eval_memory_budget) (see there); with a cheap
        flake, at least 4 hosts a process, so a small fleet is one or two processes.
    type: int
    default: 0
  eval_memory_budget:
    description:
      - How much memory, in MiB, the C(nix eval) processes evaluating the hosts may hold together.
        A real NixOS host costs hundreds of MB to evaluate and one C(nix eval) frees nothing while it
        runs, so the hosts are evaluated in chunks - the first alone (as many hosts as the budget
        holds at 1400 MiB a host, at most 4), and what it cost a host (its process's peak, C(wait4))
        sizes the chunks after it so that O(eval_workers) processes at once fit (RV(evaluation)).
        Fewer processes run at once when one host each would not fit; a host that
        alone needs more is evaluated alone and named in a warning.
      - The default fits an AWX execution pod of 4 GiB; give the controller's free memory minus what
        C(ansible-playbook) needs. docs/inventory.md ("Evaluation memory") says how to choose it.
    type: int
    default: 3072
  eval_cache:
    description:
      - Remember what each host's system evaluated to (C(drvPath), C(outPath)), so that a redeploy of
        an unchanged flake evaluates nothing - it only asks the store whether the systems are there
        (RV(evaluations_cached)). Keyed like the inventory cache - a locked ref (C(?rev=),
        C(?narHash=), a C(path:/nix/store/...) copy, as the nixfleet.nixos.flake inventory's
        C(nixos_flake) is) is its own key; an unlocked local flake is keyed by a fingerprint of its
        content (a new commit, a dirty tree, an edited file or C(flake.lock) is a new key); plus the
        C(nix) executable, C(NIX_CONFIG) and O(nix_args).
      - Never used for an unlocked remote ref, or when O(nix_args) has C(--impure), C(--override-input)
        or another flag that changes what the evaluation reads. A remembered host whose system has to
        be built is evaluated again (its derivation may have been garbage-collected).
      - Kept in C($NIXFLEET_CACHE_DIR/evaluations) (default C(~/.cache/nixfleet), or C($XDG_CACHE_HOME/nixfleet)),
        or with O(eval_cache_plugin) in an Ansible cache plugin's store.
    type: bool
    default: true
  eval_cache_plugin:
    description:
      - Keep the evaluation cache in this Ansible cache plugin's store instead of the controller's cache
        directory, as the inventory's cache does - for jobs that each start in a fresh container (AWX
        execution pods), so a second job of an unchanged flake evaluates nothing. For example
        C(ansible.builtin.jsonfile) with O(eval_cache_connection) a directory on a volume every job mounts,
        or C(community.general.redis) with a redis URL.
    type: str
  eval_cache_connection:
    description: The cache plugin's connection (its C(_uri) - a directory for C(jsonfile), a URL for C(redis)).
    type: str
  eval_cache_prefix:
    description: The prefix of the cache plugin's keys.
    type: str
    default: nixfleet_evaluations_
  eval_cache_timeout:
    description: Seconds an entry of the cache plugin lives (C(0) - forever; a key changes with the flake anyway).
    type: int
    default: 0
attributes:
  check_mode:
    support: full
    details: Evaluates, builds nothing.
  diff_mode:
    support: none
author:
  - nixfleet maintainers (@nixfleet)
"""

EXAMPLES = r"""
- name: Build every host's system once
  nixfleet.nixos.build:
  run_once: true
  register: nixos_build

- name: Fail the hosts whose system did not build
  ansible.builtin.fail:
    msg: "{{ nixos_build.failed_hosts[inventory_hostname] }}"
  when: inventory_hostname in nixos_build.failed_hosts

- name: Build on remote builders
  nixfleet.nixos.build:
    nix_args: [--builders, "ssh://builder x86_64-linux"]
  run_once: true
"""

RETURN = r"""
nix_peak_rss_mib:
  description: The resident memory of the largest C(nix) process the task started (an evaluation, usually), in MiB.
  returned: unless a manifest is deployed
  type: int
on_builder:
  description:
    - "C({build host: [hosts]}): hosts whose C(nixos_deploy_build_on) is C(builder), only evaluated here, for
      M(nixfleet.nixos.remote_build) on their C(nixos_deploy_build_host)."
  returned: always
  type: dict
profile_paths:
  description:
    - "The deploy-rs profiles besides C(system) of each host (host var C(nixos_deploy_rs_profiles), from the
      inventory), built in the same C(nix build) - C({host: {profile: store path}}). A profile that does
      not evaluate or build fails its host."
  returned: always
  type: dict
paths:
  description: The system store path of each host that built (or, in check mode, evaluated).
  returned: always
  type: dict
  sample: {"web-01": "/nix/store/fdbsdqh96xcdfvxizjzr90dqy2v5d87k-nixos-system-web-01-24.05"}
drv_paths:
  description: The derivation of each host's system.
  returned: always
  type: dict
on_target:
  description: The hosts whose systems were only evaluated, to be built on the hosts themselves.
  returned: always
  type: list
  elements: str
failed_hosts:
  description: Hosts that failed to evaluate or build, with Nix's message.
  returned: always
  type: dict
  sample: {"web-02": "nixosConfigurations.\"web-02\".config.system.build.toplevel failed to build: error: builder for ..."}
built:
  description: Whether anything was built (false in check mode).
  returned: always
  type: bool
nix_calls:
  description: The nix invocations made (C(build), C(eval), ...), to see that one build served every host.
  returned: always
  type: list
  elements: str
evaluations_cached:
  description: The hosts whose systems were taken from the evaluation cache (O(eval_cache)), not evaluated.
  returned: always
  type: list
  elements: str
evaluation:
  description:
    - How the hosts were evaluated (O(eval_memory_budget)) - C(processes), C(chunk_sizes) (hosts per
      process, in order), C(peak_rss_mib) (the largest process), C(peak_concurrent_rss_mib) (the sum of
      the peaks of processes that ran at the same time), C(per_host_rss_mib) (the cost model - the most a
      process needed per host), C(cpu_seconds), C(over_budget_mib)
      (hosts that alone needed more than the budget, with what they needed).
  returned: unless a manifest is deployed
  type: dict
closure_sizes:
  description: Closure size in bytes of each built system, by host (one C(nix path-info) on the controller).
  returned: when not in check mode
  type: dict
  sample: {"web-01": 1288490188}
timings:
  description:
    - Seconds the evaluation (C(evaluation)) and the C(nix build) (C(build)) took, for all hosts at once;
      a phase that did not run is absent. The deploy report shows them for each host.
    - "While the task runs it prints progress lines (C(nixfleet: evaluating 12/50 hosts),
      C(nixfleet: building 37/120 derivations (3 running, 45 s)), a failed build with its last log
      lines as it fails); C(NIXFLEET_PROGRESS=0) turns them off (docs/progress.md)."
  returned: unless a manifest is deployed
  type: dict
  sample: {"evaluation": 4.2, "build": 61.0}
"""
