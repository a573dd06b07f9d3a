# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: flake
short_description: Hosts and groups straight from a Nix flake
version_added: 0.1.0
description:
  - Reads the hosts of a Nix flake with one C(nix eval) for a small fleet, reading only cheap
    metadata (never C(system.build.toplevel)); a larger fleet in chunks of hosts, by up to
    O(eval_workers) processes at once within O(eval_memory_budget).
  - "Hosts come from C(nixosConfigurations.<name>), from colmena's C(colmenaHive.nodes.<name>)
    (C(colmena.lib.makeHive); C(nixosConfigurations) wins for a name in both) and from deploy-rs
    C(deploy.nodes.<name>) (a deploy-rs node without a configuration is a host too)."
  - "Where a host lives, in order of preference: colmena-style
    C(config.deployment.{targetHost,targetPort,targetUser,tags}) when that option exists, deploy-rs
    C(deploy.nodes.<name>.{hostname,sshUser,sshOpts}), then C(config.networking.fqdn) or
    C(hostName). A host with none of these still appears under its attribute name; use O(compose)
    to set C(ansible_host)."
  - "Sets C(ansible_host), C(ansible_user), C(ansible_port) where the flake says so;
    C(ansible_become=true) and C(ansible_become_user) when activation must run as another user than
    ssh logs in as: a deploy-rs node whose C(sshUser) differs from its C(system) profile's C(user)
    (default C(root); C(user) inherits deploy → node → profile, and without C(sshUser) ssh logs in
    as C(user)), or a colmena C(deployment.targetUser) other than C(root) (colmena then uses sudo).
    The become method stays Ansible's (C(sudo) unless you set C(ansible_become_method)); a sudo
    password comes from C(--ask-become-pass) or C(ansible_become_password). And it sets
    C(nixos_flake) (the flake ref, locked where Nix can lock it, so the play builds exactly what
    the inventory saw), C(nixos_flake_source) (the ref as resolved from O(flake)), C(nixos_attr)
    (for example C(nixosConfigurations.\"web-01\")), C(nixos_toplevel_attr) (what to build),
    C(nixos_system), C(nixos_tags), C(nixos_ssh_opts) and C(nixos_metadata_source)
    (C(colmena), C(deploy-rs), C(networking) or C(none)). For a configuration with sops-nix, where
    it expects its age identity - C(nixos_sops_age_key_file) (C(sops.age.keyFile), or null) and
    C(nixos_sops_age_ssh_key_paths) (C(sops.age.sshKeyPaths)); the sops_age role follows them."
  - "Every other deploy-rs and colmena setting becomes a host var the deploy role honours
    (deploy-rs C(magicRollback) → C(nixos_deploy_magic_rollback), C(confirmTimeout) →
    C(nixos_deploy_confirm_timeout), C(fastConnection) → C(nixos_deploy_copy_mode) …; the migration
    guide, docs/migration.md, has the table), or a warning names the host and the setting. A deploy-rs
    node's profiles besides C(system) are listed in C(nixos_deploy_rs_profiles) (deploy order:
    C(profilesOrder), then by name; each with C(name), C(attr), C(user), C(profile_path)); the
    deploy role builds them with the systems and deploys them after the switch. A setting of the
    wrong type puts its message in C(nixos_settings_error), and the deploy fails that host."
  - "Groups: C(nixos) (every host), C(tag_<tag>) per tag, C(system_<system>), names sanitised
    into valid Ansible group names."
  - "A host whose configuration does not evaluate is listed without metadata, with its error in
    C(nixos_eval_error) and in the group C(nixos_eval_failed), and a warning names it; the other
    hosts are unaffected. A flake that does not exist or does not evaluate at all is an error
    that carries Nix's own message."
  - "Values from the flake are never templated: a string that could hold a template (a C({) or
    C(})) stays untrusted (ansible-core 2.19 and newer) or is marked unsafe (older), and only such a
    string prints as C({\"__ansible_unsafe\": ...}) in C(ansible-inventory --list --export), what AWX
    imports; every other value prints as plain JSON."
  - The file name must end in C(flake.yml) or C(flake.yaml), for example C(prod.flake.yml).
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin.
    required: true
    choices: [nixfleet.nixos.flake]
    type: str
  flake:
    description:
      - The flake. A local path, relative to the inventory file (C(../infra)), or any flake ref
        (C(github:org/infra), C(git+https://example.com/infra), C(path:/srv/infra)).
      - A local directory inside a git work tree is read as C(git+file://) like the C(nix) CLI
        does (tracked files only).
    required: true
    type: str
  host_filter:
    description:
      - Only these hosts (names or shell globs such as C(web-*)). Empty means every host.
      - Filtered-out configurations are not evaluated at all.
    type: list
    elements: str
    default: []
  nix_args:
    description:
      - Extra arguments for every C(nix) call, for example C([--override-input, nixpkgs, path:/src/nixpkgs]).
      - With input-changing flags (C(--override-input) and friends) the outputs are read through
        two installables instead of C(builtins.getFlake), and C(nixos_flake) is not locked.
    type: list
    elements: str
    default: []
  nix_binary:
    description: The C(nix) executable to run.
    type: str
    default: nix
  eval_workers:
    description:
      - How many C(nix eval) processes may read hosts at the same time. C(0) means one per core.
    type: int
    default: 0
  eval_memory_budget:
    description:
      - How much memory, in MiB, the C(nix eval) processes reading the hosts may hold together. A real
        NixOS configuration costs hundreds of MB to evaluate, and one C(nix eval) frees nothing, so the
        hosts are read in chunks - the first process lists the hosts and reads the first few (as many
        as the budget holds at 1400 MiB a host, at most 4) and what they cost (its peak memory) sizes the
        chunks after it so that O(eval_workers) processes at once fit. A host that alone needs more is
        named in a warning.
      - The default fits an AWX execution pod of 4 GiB.
    type: int
    default: 3072
notes:
  - "Caching (O(cache=true)): the cache key includes a fingerprint of a local flake's content
    (git: HEAD plus every tracked change; other directories: every file's size and mtime), so an
    edit is never answered from the cache, and a parse of an unchanged flake runs no C(nix) at
    all. Remote refs are cached until O(cache_timeout); pin a C(rev) to make them immutable."
  - Needs the Nix CLI (2.4 or newer, Lix included) on the controller.
"""

EXAMPLES = r"""
# inventories/prod.flake.yml
plugin: nixfleet.nixos.flake
flake: ../infra

---
# Only the web servers, a pinned nixpkgs, cached
plugin: nixfleet.nixos.flake
flake: github:example/infra
host_filter: ['web-*']
nix_args: [--override-input, nixpkgs, github:NixOS/nixpkgs/nixos-24.05]
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/nixfleet-inventory

---
# Hosts with no deployment metadata: address them by name in a domain
plugin: nixfleet.nixos.flake
flake: ../infra
compose:
  ansible_host: inventory_hostname ~ '.example.internal'
keyed_groups:
  - key: nixos_system
    prefix: arch
"""

import hashlib
import json
import os

from ansible.errors import AnsibleParserError
from ansible.inventory.group import to_safe_group_name
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes.flake_ref import resolve_flake_ref
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_argv import NixSettings
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import argv
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.evaluation_pool import pool_settings
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.flake_eval import FlakeInventory, read_flake
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.flake_fingerprint import fingerprint
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._progress import progress
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.untrusted_values import inventory_value

display = Display()


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "nixfleet.nixos.flake"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("flake.yml", "flake.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        try:
            ref = resolve_flake_ref(self.get_option("flake"), os.path.dirname(os.path.abspath(path)))
            self._pool = pool_settings(self.get_option("eval_workers"), self.get_option("eval_memory_budget"))
        except ValueError as exc:
            raise AnsibleParserError("%s: %s" % (path, exc))
        cli = NixCli(NixSettings(nix=self.get_option("nix_binary"), extra_args=tuple(self.get_option("nix_args"))))
        host_filter = list(self.get_option("host_filter"))
        result = self._cached_or_read(path, cache, cli, ref, host_filter)
        for warning in result.warnings:
            display.warning(warning)
        self._populate(result)

    def _cache_key_for(self, path, ref, cli, host_filter):
        identity = json.dumps([ref, list(cli.settings.extra_args), host_filter, fingerprint(ref)])
        return "%s_%s" % (self.get_cache_key(path), hashlib.sha256(identity.encode()).hexdigest()[:16])

    def _cached_or_read(self, path, cache, cli, ref, host_filter):
        use_cache = self.get_option("cache")
        key = self._cache_key_for(path, ref, cli, host_filter) if use_cache else None
        if use_cache and cache:
            try:
                return FlakeInventory.from_dict(self._cache[key])
            except KeyError:
                pass
        try:
            workers, budget = self._pool
            result = read_flake(
                cli,
                ref,
                host_filter,
                workers=workers,
                budget=budget,
                progress=progress.for_inventory(display.verbosity),
            )
        except NixError as exc:
            raise AnsibleParserError("nixfleet.nixos.flake: cannot read the hosts of %s: %s" % (ref, exc))
        if use_cache:
            self._cache[key] = result.to_dict()
        return result

    def _group(self, name):
        return self.inventory.add_group(to_safe_group_name(name, force=True, silent=True))

    def _populate(self, result):
        strict = self.get_option("strict")
        self.inventory.add_group("nixos")
        for host in result.hosts:
            name = self.inventory.add_host(host.name, group="nixos")
            flake_vars = {
                "nixos_flake": result.locked_ref,
                "nixos_flake_source": result.ref,
                "nixos_attr": host.attr,
                "nixos_toplevel_attr": host.toplevel_attr,
                "nixos_system": host.system,
                "nixos_tags": host.tags,
                "nixos_ssh_opts": host.ssh_opts,
                "nixos_metadata_source": host.source,
            }
            if host.host:
                flake_vars["ansible_host"] = host.host
            if host.user:
                flake_vars["ansible_user"] = host.user
            if host.port:
                flake_vars["ansible_port"] = host.port
            if host.become_user:
                flake_vars["ansible_become"] = True
                flake_vars["ansible_become_user"] = host.become_user
            if host.ssh_opts:
                flake_vars["ansible_ssh_extra_args"] = argv(*host.ssh_opts).text  # Ansible splits it like a shell
            flake_vars.update(host.settings_vars)
            if host.deploy_rs_profiles:
                flake_vars["nixos_deploy_rs_profiles"] = host.deploy_rs_profiles
            if host.sops_age_ssh_key_paths is not None:  # the configuration has sops-nix
                flake_vars["nixos_sops_age_key_file"] = host.sops_age_key_file
                flake_vars["nixos_sops_age_ssh_key_paths"] = host.sops_age_ssh_key_paths
            if host.settings_error:
                flake_vars["nixos_settings_error"] = host.settings_error
            if host.error:
                flake_vars["nixos_eval_error"] = host.error
                self.inventory.add_child(self._group("nixos_eval_failed"), name)
            for var, value in flake_vars.items():
                self.inventory.set_variable(name, var, inventory_value(value))
            for tag in host.tags:
                self.inventory.add_child(self._group("tag_%s" % tag), name)
            if host.system:
                self.inventory.add_child(self._group("system_%s" % host.system), name)
            hostvars = self.inventory.get_host(name).get_vars()
            self._set_composite_vars(self.get_option("compose"), hostvars, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, name, strict=strict)
