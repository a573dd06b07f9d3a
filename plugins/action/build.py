# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.build (documented in plugins/modules/build.py)."""

from __future__ import annotations

import resource
from typing import Dict, List

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build import manifest_check
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import NIX_ARGSPEC, NixosAction
from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes import flake_inventory as fi
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.evaluation_cache import AnsibleCacheStore
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.evaluation_pool import (
    DEFAULT_BUDGET_MIB,
    pool_settings,
)
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.system_build import SystemBuilder, SystemTarget


class ActionModule(NixosAction):
    _requires_connection = False
    ARGSPEC = dict(
        NIX_ARGSPEC,
        hosts={"type": "list", "elements": "str"},
        flake={"type": "str"},
        on_target={"type": "list", "elements": "str"},
        manifest={"type": "path"},
        manifest_cache={"type": "str"},
        trusted_public_keys={"type": "list", "elements": "str", "default": []},
        eval_workers={"type": "int", "default": 0},
        eval_memory_budget={"type": "int", "default": DEFAULT_BUDGET_MIB},
        eval_cache={"type": "bool", "default": True},
        eval_cache_plugin={"type": "str"},
        eval_cache_connection={"type": "str"},
        eval_cache_prefix={"type": "str", "default": "nixfleet_evaluations_"},
        eval_cache_timeout={"type": "int", "default": 0},
    )

    def execute(self, args, task_vars):
        hostvars = task_vars.get("hostvars", {})
        hosts = args["hosts"] if args["hosts"] is not None else list(task_vars.get("ansible_play_batch", []))
        if args["manifest"]:
            return self._from_manifest(args, hosts, hostvars, task_vars.get("groups", {}).get("all", hosts))
        targets, extra, failed = [], [], {}
        for host in hosts:
            hv = hostvars.get(host, {})
            flake = args["flake"] or hv.get("nixos_flake")
            if not flake:
                failed[host] = (
                    "%s has no nixos_flake: use the nixfleet.nixos.flake inventory, set "
                    "nixos_flake, or pass flake=" % host
                )
                continue
            if hv.get("nixos_eval_error"):
                failed[host] = "%s does not evaluate: %s" % (hv.get("nixos_attr"), hv["nixos_eval_error"])
                continue
            if hv.get("nixos_settings_error"):
                failed[host] = "%s: %s" % (host, hv["nixos_settings_error"])
                continue
            try:
                attr = hv.get("nixos_toplevel_attr") or "%s.%s" % (
                    fi.attr_path("nixosConfigurations", host),
                    fi.TOPLEVEL,
                )
            except ValueError as exc:
                failed[host] = str(exc)
                continue
            targets.append(SystemTarget(host=host, flake=str(flake), attr=str(attr)))
            # deploy-rs profiles besides system: built here, with the systems (one nix build)
            extra += [
                SystemTarget(host=PROFILE_KEY % (host, p["name"]), flake=str(flake), attr=str(p["attr"]))
                for p in hv.get("nixos_deploy_rs_profiles") or []
            ]
        on_target = set(
            args["on_target"]
            if args["on_target"] is not None
            else [h for h in hosts if hostvars.get(h, {}).get("nixos_deploy_build_on") == "target"]
        )
        on_builder = _build_hosts(hosts, hostvars, failed)
        on_target |= {h for group in on_builder.values() for h in group}  # only evaluated here too
        targets = [t for t in targets if t.host not in failed]
        extra = [t for t in extra if t.host.split("\n", 1)[0] not in failed]
        try:
            workers, budget = pool_settings(args["eval_workers"], args["eval_memory_budget"])
        except ValueError as exc:
            raise NixError(str(exc))
        shared = None
        if args["eval_cache"] and args["eval_cache_plugin"]:
            shared = AnsibleCacheStore(
                args["eval_cache_plugin"],
                args["eval_cache_connection"],
                args["eval_cache_prefix"],
                args["eval_cache_timeout"],
            )
        builder = SystemBuilder(
            self.nix_cli(args),
            eval_workers=workers,
            eval_cache=args["eval_cache"],
            eval_memory_budget=budget,
            shared_cache=shared,
            progress=self.progress(),
        )
        # Systems built on their targets are only evaluated here (their derivations are pushed). Every
        # host is evaluated in one call first, in the play's order: one pool, its chunks sized across all.
        remote = [t for t in targets if t.host in on_target]
        here = [t for t in targets if t.host not in on_target] + extra
        builder.evaluate(targets + extra)
        if remote:
            builder.check(remote)
        report = builder.check(here) if self._task.check_mode else builder.build(here)
        report.failed.update(failed)
        profile_paths = _split_profiles(report)
        result = report.to_result()
        result["profile_paths"] = profile_paths
        if report.warnings:
            result["warnings"] = report.warnings
        # Linux counts kilobytes; this worker's children are the nix processes it started.
        result["nix_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
        result["changed"] = False
        result["built"] = not self._task.check_mode
        on_builder = {b: [h for h in group if h in report.paths] for b, group in on_builder.items()}
        result["on_builder"] = {b: group for b, group in on_builder.items() if group}
        result["on_target"] = sorted(
            h for h in on_target if h in report.paths and not any(h in group for group in on_builder.values())
        )
        done = "evaluated (check mode)" if self._task.check_mode else "built"
        result["msg"] = "%d of %d systems %s" % (len(report.paths), len(hosts), done)
        return result

    def _from_manifest(self, args, hosts, hostvars, inventory_hosts):
        """A pre-built deploy: every system from the manifest, checked against its cache; nothing evaluated or built."""
        manifest = manifest_check.load(args["manifest"])
        cache = args["manifest_cache"] or manifest.cache
        if not cache:
            raise NixError(
                "manifest %s names no cache and none was given (manifest_cache / nixos_deploy_cache_url); "
                "nothing was deployed" % args["manifest"]
            )
        report = manifest_check.systems(
            self.nix_cli(args), manifest, args["manifest"], hosts, inventory_hosts, cache, args["trusted_public_keys"]
        )
        for host in hosts:
            if hostvars.get(host, {}).get("nixos_settings_error"):
                report.paths.pop(host, None)
                report.failed[host] = "%s: %s" % (host, hostvars[host]["nixos_settings_error"])
        result = report.to_result()
        result.update(
            changed=False,
            built=False,
            on_target=[],
            on_builder={},
            profile_paths={},
            manifest=args["manifest"],
            cache=cache,
            flake=manifest.flake,
            rev=manifest.rev,
            msg="%d of %d systems from manifest %s" % (len(report.paths), len(hosts), args["manifest"]),
        )
        return result


PROFILE_KEY = "%s\n%s"  # a deploy-rs profile's place in the build report: host and profile (no host has a newline)


def _split_profiles(report):
    """Take the deploy-rs profiles out of the report: ``{host: {profile: path}}``; a profile that does
    not evaluate or build fails its host (nothing of it is deployed)."""
    profiles: Dict[str, Dict[str, str]] = {}
    for key in [k for k in report.paths if "\n" in k]:
        host, name = key.split("\n", 1)
        profiles.setdefault(host, {})[name] = report.paths.pop(key)
        report.drv_paths.pop(key, None)
        report.closure_sizes.pop(key, None)
    for key in [k for k in report.failed if "\n" in k]:
        host, name = key.split("\n", 1)
        report.failed[host] = "deploy-rs profile %s: %s" % (name, report.failed.pop(key))
        report.paths.pop(host, None)
        profiles.pop(host, None)
    return profiles


def _build_hosts(hosts, hostvars, failed):
    """``{build host: [hosts]}`` for the hosts whose ``nixos_deploy_build_on`` is ``builder`` (their
    ``nixos_deploy_build_host`` builds them); one without a build host is failed."""
    groups: Dict[str, List[str]] = {}
    for host in hosts:
        hv = hostvars.get(host, {})
        if hv.get("nixos_deploy_build_on") != "builder" or host in failed:
            continue
        builder = hv.get("nixos_deploy_build_host")
        if not builder:
            failed[host] = (
                "%s: nixos_deploy_build_on is builder, but nixos_deploy_build_host names no build host" % host
            )
            continue
        groups.setdefault(str(builder), []).append(host)
    return groups
