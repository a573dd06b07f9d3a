# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.generations (documented in plugins/modules/generations.py)."""

from __future__ import annotations

from typing import Any, Dict, Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import garbage_collection as gc
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generations import (
    SYSTEM_PROFILE,
    ProfileState,
    parse_probe,
    probe_command,
    profile_target,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.retention import (
    Pruning,
    RetentionPolicy,
    plan_pruning,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import probe_field, raw, sequence
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.store_path import store_path_option
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import PROFILE_ARGSPEC, NixosAction
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.deployer_identity import owner_label


class ActionModule(NixosAction):
    ARGSPEC = dict(
        PROFILE_ARGSPEC,
        keep_last={"type": "int"},
        keep_days={"type": "int"},
        protect={"type": "list", "elements": "str", "default": []},
        boot_entries={"type": "bool", "default": True},
        collect_garbage={"type": "bool", "default": False},
        max_freed={"type": "str"},
        min_free={"type": "str"},
        lock_timeout={"type": "int", "default": 60},
    )

    def execute(self, args, task_vars):
        policy = RetentionPolicy(keep_last=args["keep_last"], keep_days=args["keep_days"])
        protect = tuple(store_path_option(path, "protect") for path in args["protect"])
        max_freed = _size(args, "max_freed")
        min_free = _size(args, "min_free")
        shell = self.shell(task_vars)
        parts = [
            probe_command(args["profile"], nix_version=False),
            raw("printf 'now\\t%s\\n' \"$(date +%s)\""),
            gc.store_space_command(),
        ]
        counts_garbage = self._task.check_mode and args["collect_garbage"]
        if counts_garbage:  # in the same round trip; the store's garbage is listed as root
            parts.append(gc.dead_paths_command())
        probe = shell.check(
            sequence(parts), "reading the generations of %s" % args["profile"], privileged=counts_garbage
        ).stdout
        state = parse_probe(args["profile"], probe)
        free_before = gc.parse_store_space(probe)
        now = int(probe_field(probe, "now") or 0)
        pruning = plan_pruning(state, policy, now, protect)
        collect = args["collect_garbage"] and (min_free is None or free_before is None or free_before < min_free)
        result: Dict[str, Any] = dict(
            pruning.to_result(),
            profile=args["profile"],
            nix_store_free_bytes=free_before,
            collected=False,
            bytes_freed=0,
            paths_freed=0,
        )
        if args["collect_garbage"] and not collect and free_before is not None and min_free is not None:
            result["msg"] = "%d bytes free on /nix, at least min_free (%d): no garbage collection" % (
                free_before,
                min_free,
            )
        if self._task.diff:
            result["diff"] = _diff(state, pruning)
        if self._task.check_mode:
            dead = int(probe_field(probe, "dead_paths") or 0) if collect else 0
            result.update(changed=bool(pruning.delete) or dead > 0, dead_paths=dead, collected=collect)
            return result
        if not pruning.delete and not collect:
            result["changed"] = False
            return result
        run = gc.PruneRun(
            profile=args["profile"],
            delete=tuple(g.number for g in pruning.delete),
            expected_link=profile_target(state.profile, state.current_number),
            expected_running=state.running_system or "",
            owner=owner_label(shell.label, "a pruning of %s" % args["profile"]),
            lock_wait=args["lock_timeout"],
            boot_entries=args["boot_entries"] and args["profile"].rstrip("/") == SYSTEM_PROFILE,
            collect=collect,
            max_freed=max_freed,
            roots=gc.protected_roots(state.running_system, state.booted_system, protect),
        )
        pruned = shell.perform(gc.prune(run))
        _raise_for(pruned, shell.label, args["profile"])
        freed = pruned.freed
        result.update(
            collected=collect, nix_store_free_bytes=pruned.free_bytes, nix_store_free_bytes_before=free_before
        )
        if freed:
            result.update(bytes_freed=freed.bytes, paths_freed=freed.paths)
        result["changed"] = bool(pruning.delete) or bool(freed and freed.paths)
        return result


def _size(args: Dict[str, Any], option: str) -> Optional[int]:
    try:
        return gc.parse_size(args[option]) if args[option] else None
    except ValueError as exc:
        raise ValueError("%s: %s" % (option, exc))


def _raise_for(pruned: gc.Pruned, host: str, profile: str) -> None:
    if pruned.status is gc.PruneStatus.DONE:
        return
    if pruned.status is gc.PruneStatus.LOCKED:
        raise NixError("%s is locked by another deploy (%s)" % (profile, pruned.holder or "unknown holder"), host=host)
    if pruned.status is gc.PruneStatus.STALE:
        raise NixError(
            "%s or the running system changed since it was read (now %s); nothing was deleted, "
            "run again" % (profile, pruned.holder or "no generation"),
            host=host,
        )
    what = "pruning %s failed" % profile if pruned.status is gc.PruneStatus.FAILED else pruned.status.value
    raise NixError(what, rc=pruned.rc, stderr=pruned.stderr, host=host)


def _describe(state: ProfileState, numbers: Optional[set] = None) -> str:
    lines = []
    for g in state.generations:
        if numbers is None or g.number in numbers:
            lines.append("generation %d%s: %s\n" % (g.number, " (current)" if g.current else "", g.path))
    return "".join(lines)


def _diff(state: ProfileState, pruning: Pruning) -> dict:
    return {
        "before": _describe(state),
        "after": _describe(state, set(pruning.keep)),
        "before_header": "%s generations" % state.profile,
        "after_header": "%s generations" % state.profile,
    }
