# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.nix_conf (documented in plugins/modules/nix_conf.py)."""

from __future__ import annotations

import json
import time

from ansible_collections.nixfleet.nixos.plugins.module_utils._caches import nix_conf as nc
from ansible_collections.nixfleet.nixos.plugins.module_utils._caches import nix_daemon as nd
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote import target_file as tf
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import argv
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote import remote_files
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import NixosAction

NIXOS_HINT = (
    "%s is a link into the Nix store (NixOS): it is generated from the system configuration and "
    "must not be edited. Set nix.settings in the flake instead (for example nix.settings.substituters, "
    "nix.settings.trusted-public-keys) and deploy it"
)


class ActionModule(NixosAction):
    PATH_OPTIONS = ("path",)
    ARGSPEC = dict(
        {option: {"type": "list", "elements": "str"} for option in nc.NAMED_LISTS},
        netrc_file={"type": "str"},
        settings={"type": "dict", "default": {}},
        remove={"type": "list", "elements": "str", "default": []},
        netrc_content={"type": "str", "no_log": True},
        path={"type": "str", "default": "/etc/nix/nix.conf"},
        backup={"type": "bool", "default": False},
        restart_daemon={"type": "bool", "default": True},
    )

    def execute(self, args, task_vars):
        try:
            desired = nc.desired_settings(
                {o: args[o] for o in nc.NAMED_LISTS}, args["netrc_file"], args["settings"], args["remove"]
            )
        except nc.NixConfError as exc:
            raise NixError("%s; nothing was changed" % exc)
        if args["netrc_content"] is not None and not args["netrc_file"]:
            raise NixError("netrc_content needs netrc_file (where the netrc goes)")
        shell = self.shell(task_vars)
        path = args["path"]
        state = remote_files.probe(shell, path)
        if state.kind == "link" and (state.target or "").startswith("/nix/store/"):
            return self._verify_nixos(shell, path, desired)
        if state.kind in ("link", "other"):
            raise NixError(
                "%s is not a regular file (a link outside the store, or a directory); nothing was changed" % path,
                host=shell.label,
            )
        try:
            change = nc.edit(state.content, desired, args["remove"], "%s on %s" % (path, shell.label))
        except nc.NixConfError as exc:
            raise NixError("%s; nothing was changed" % exc, host=shell.label)
        result = {
            "changed": change.changed,
            "path": path,
            "nixos": False,
            "changes": list(change.changes),
            "daemon_restarted": False,
        }
        if self._netrc(shell, args):
            result["changed"] = True
            result["changes"].append("netrc-file %s: credentials written (not shown)" % args["netrc_file"])
        if self._task.diff and change.changed:
            result["diff"] = {
                "before_header": path,
                "after_header": path,
                "before": state.content,
                "after": change.text,
            }
        if self._task.check_mode or not result["changed"]:
            return result
        if change.changed:
            if args["backup"] and state.exists:
                result["backup_file"] = shell.check(
                    tf.backup_command(path, time.strftime("%Y-%m-%d@%H:%M:%S")), "backing up %s" % path
                ).stdout.strip()
            remote_files.install(shell, path, change.text, state.mode if state.mode is not None else 0o644)
        if args["restart_daemon"]:
            daemon = shell.perform(nd.daemon_status())
            if daemon.running:
                result["daemon_restarted"] = True
                result["daemon_pid"] = shell.perform(nd.restart(daemon)).pid
        return result

    def _netrc(self, shell, args) -> bool:
        """Check the netrc file is readable, or (with netrc_content) write it; True when it (would) change."""
        path = args["netrc_file"]
        if not path:
            return False
        if args["netrc_content"] is None:
            if shell.run(argv("test", "-r", path).and_then(argv("test", "-f", path))).rc != 0:
                raise NixError(
                    "netrc-file %s is missing or unreadable on the host; nothing was changed" % path, host=shell.label
                )
            return False
        return remote_files.ensure(
            shell,
            path,
            args["netrc_content"].rstrip("\n") + "\n",
            0o600,
            check_mode=self._task.check_mode,
            sensitive=True,
        )

    def _verify_nixos(self, shell, path, desired):
        running = shell.check(nd.SHOW_CONFIG_COMMAND, "reading the running Nix configuration", privileged=False).stdout
        try:
            problems = nc.missing_from(nc.parse_show_config(json.loads(running)), desired)
        except ValueError:
            raise NixError("nix show-config printed no JSON", host=shell.label, stdout=running[:500])
        result = {
            "changed": False,
            "path": path,
            "nixos": True,
            "changes": [],
            "daemon_restarted": False,
            "problems": problems,
        }
        if problems:
            result.update(
                failed=True,
                msg="%s: %s; the running configuration %s" % (shell.label, NIXOS_HINT % path, "; ".join(problems)),
            )
        else:
            result["msg"] = "%s: the running Nix configuration already has every requested setting" % shell.label
        return result
