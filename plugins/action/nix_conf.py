# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.nix_conf (documented in plugins/modules/nix_conf.py)."""

from __future__ import annotations

import json
import time

from ansible_collections.nixfleet.nixos.plugins.module_utils import nix_conf as nc
from ansible_collections.nixfleet.nixos.plugins.module_utils import nix_daemon as nd
from ansible_collections.nixfleet.nixos.plugins.module_utils import secret_file as sf
from ansible_collections.nixfleet.nixos.plugins.module_utils.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils.shell import join
from ansible_collections.nixfleet.nixos.plugins.plugin_utils.action_base import NixosAction

NAMED = {  # option → nix.conf name
    "substituters": "substituters",
    "extra_substituters": "extra-substituters",
    "trusted_substituters": "trusted-substituters",
    "trusted_public_keys": "trusted-public-keys",
    "extra_trusted_public_keys": "extra-trusted-public-keys",
    "trusted_users": "trusted-users",
    "netrc_file": "netrc-file",
}
NIXOS_HINT = ("%s is a link into the Nix store (NixOS): it is generated from the system configuration and "
              "must not be edited. Set nix.settings in the flake instead (for example nix.settings.substituters, "
              "nix.settings.trusted-public-keys) and deploy it")


def desired_settings(args):
    """``{nix.conf name: words}`` from the named options and ``settings``; validated."""
    desired = {}
    for option, name in NAMED.items():
        value = args[option]
        if value is not None:
            desired[name] = tuple(value) if isinstance(value, list) else (value,)
    for name, value in (args["settings"] or {}).items():
        if name in desired:
            raise NixError("%s is given twice (as an option and in settings)" % name)
        if isinstance(value, bool):
            words = ("true" if value else "false",)
        elif isinstance(value, list):
            words = tuple(str(v) for v in value)
        else:
            words = tuple(str(value).split())
        desired[name] = words
    try:
        for name, words in desired.items():
            nc.validate(name, words)
        for name in args["remove"]:
            nc.validate(name, ())
    except nc.NixConfError as exc:
        raise NixError("%s; nothing was changed" % exc)
    return desired


class ActionModule(NixosAction):

    ARGSPEC = dict(
        {option: {"type": "str" if option == "netrc_file" else "list", "elements": "str"} for option in NAMED},
        netrc_file={"type": "str"},
        settings={"type": "dict", "default": {}},
        remove={"type": "list", "elements": "str", "default": []},
        netrc_content={"type": "str", "no_log": True},
        path={"type": "str", "default": "/etc/nix/nix.conf"},
        backup={"type": "bool", "default": False},
        restart_daemon={"type": "bool", "default": True},
    )

    def execute(self, args, task_vars):
        desired = desired_settings(args)
        if args["netrc_content"] is not None and not args["netrc_file"]:
            raise NixError("netrc_content needs netrc_file (where the netrc goes)")
        shell = self.shell(task_vars)
        path = args["path"]
        link = nd.parse_conf_link(shell.check(nd.conf_link_command(path), "looking at %s" % path).stdout)
        if link is not None and link.startswith("/nix/store/"):
            return self._verify_nixos(shell, path, desired)
        result = {"changed": False, "path": path, "nixos": False, "changes": [], "daemon_restarted": False}
        netrc_changed = self._netrc(shell, args, result)
        state = sf.parse_probe(shell.check(sf.probe_command(path), "reading %s" % path).stdout)
        if state.kind == "other":
            raise NixError("%s is not a regular file (a link outside the store, or a directory); nothing was changed"
                           % path, host=shell.label)
        try:
            change = nc.edit(state.content, desired, args["remove"], "%s on %s" % (path, shell.label))
        except nc.NixConfError as exc:
            raise NixError("%s; nothing was changed" % exc, host=shell.label)
        result["changes"] += change.changes
        result["changed"] = change.changed or netrc_changed
        if self._task.diff and change.changed:
            result["diff"] = {"before_header": path, "after_header": path, "before": state.content, "after": change.text}
        if self._task.check_mode or not result["changed"]:
            return result
        if change.changed:
            if args["backup"] and state.exists:
                result["backup_file"] = shell.check(nd.backup_command(path, time.strftime("%Y-%m-%d@%H:%M:%S")),
                                                    "backing up %s" % path).stdout.strip()
            mode = state.mode if state.exists and state.mode is not None else 0o644
            shell.check(sf.write_command(path, "root", "root", mode, 0o755), "writing %s" % path, stdin=change.text)
        if args["restart_daemon"]:
            daemon = nd.parse_status(shell.check(nd.STATUS_COMMAND, "looking for nix-daemon").stdout)
            if daemon.running:
                after = shell.check(nd.restart_command(daemon), "restarting nix-daemon").stdout
                result["daemon_restarted"] = True
                result["daemon_pid"] = nd.parse_status(after).pid
        return result

    def _netrc(self, shell, args, result) -> bool:
        """Check (or, with netrc_content, write) the netrc file; True when it (would) change."""
        path = args["netrc_file"]
        if not path:
            return False
        if args["netrc_content"] is None:
            readable = shell.run(join(["test", "-r", path]) + " && " + join(["test", "-f", path])).rc == 0
            if not readable:
                raise NixError("netrc-file %s is missing or unreadable on the host; nothing was changed" % path,
                               host=shell.label)
            return False
        content = args["netrc_content"].rstrip("\n") + "\n"
        state = sf.parse_probe(shell.check(sf.probe_command(path), "reading %s" % path, sensitive=True).stdout)
        if state.kind == "other":
            raise NixError("%s is not a regular file; nothing was changed" % path, host=shell.label)
        same = state.exists and (state.content, state.uid, state.gid, state.mode) == (content, 0, 0, 0o600)
        if same:
            return False
        result["changes"].append("netrc-file %s: credentials %s (not shown)" % (path, "updated" if state.exists else "written"))
        if not self._task.check_mode:
            shell.check(sf.write_command(path, "root", "root", 0o600, 0o755), "writing %s" % path, stdin=content,
                        sensitive=True)
        return True

    def _verify_nixos(self, shell, path, desired):
        running = shell.check(nd.SHOW_CONFIG_COMMAND, "reading the running Nix configuration").stdout
        try:
            problems = nc.missing_from(nc.parse_show_config(json.loads(running)), desired)
        except ValueError:
            raise NixError("nix show-config printed no JSON", host=shell.label, stdout=running[:500])
        result = {"changed": False, "path": path, "nixos": True, "changes": [], "daemon_restarted": False,
                  "problems": problems}
        if problems:
            result.update(failed=True, msg="%s: %s; the running configuration %s" % (
                shell.label, NIXOS_HINT % path, "; ".join(problems)))
        else:
            result["msg"] = "%s: the running Nix configuration already has every requested setting" % shell.label
        return result
