# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.binary_cache (documented in plugins/modules/binary_cache.py)."""

from __future__ import annotations

from ansible_collections.nixfleet.nixos.plugins.module_utils._caches import binary_cache as bc
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import argv
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote import remote_files
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import NixosAction

DEFAULTS = bc.CacheServer()


class ActionModule(NixosAction):
    ARGSPEC = {
        "path": {"type": "str", "default": DEFAULTS.path},
        "state_dir": {"type": "str", "default": DEFAULTS.state_dir},
        "config": {"type": "str", "default": DEFAULTS.config},
        "listen_address": {"type": "str", "required": True},
        "port": {"type": "int", "default": DEFAULTS.port},
        "user": {"type": "str", "default": DEFAULTS.user},
        "group": {"type": "str", "default": DEFAULTS.group},
        "priority": {"type": "int", "default": DEFAULTS.priority},
        "upload_allow": {"type": "list", "elements": "str", "default": DEFAULTS.upload_allow},
        "nginx": {"type": "str", "default": DEFAULTS.nginx},
    }

    def execute(self, args, task_vars):
        server = bc.CacheServer(
            path=args["path"],
            state_dir=args["state_dir"],
            config=args["config"],
            address=args["listen_address"],
            port=args["port"],
            user=args["user"],
            group=args["group"],
            priority=args["priority"],
            upload_allow=args["upload_allow"],
            nginx=args["nginx"],
        )
        try:
            server.validate()
        except ValueError as exc:
            raise NixError("invalid binary cache settings: %s; nothing was changed" % exc)
        shell = self.shell(task_vars)
        status = shell.perform(bc.server_status(server))
        if not status.nginx_installed:
            raise NixError(
                "%s is not installed on the host (Debian: apt-get install nginx)" % server.nginx, host=shell.label
            )
        files = {"%s/nix-cache-info" % server.path: server.cache_info(), server.config: server.nginx_config()}
        if status.how == "systemd":
            files["/etc/systemd/system/%s.service" % bc.UNIT] = bc.systemd_unit(server)
        current = {path: remote_files.probe(shell, path).content for path in files}
        stale = [path for path, text in files.items() if current[path] != text]
        start = status.needs_start
        changes = (
            ([] if status.dirs_ready else ["create %s and %s" % (server.path, server.state_dir)])
            + ["write %s" % path for path in stale]
            + (["start nginx"] if start else [])
            + (["reload nginx"] if stale and not start else [])
        )
        result = {"changed": bool(changes), "changes": changes, "url": server.url, "path": server.path}
        if self._task.diff and server.config in stale:
            result["diff"] = {
                "before_header": server.config,
                "after_header": server.config,
                "before": current[server.config],
                "after": files[server.config],
            }
        if self._task.check_mode or not changes:
            return result
        shell.check(bc.prepare_command(server), "creating the cache directories")
        for path in stale:
            self._install(shell, server, path, files[path])
        if start or stale:
            shell.check(
                bc.start_command(server, "systemd" if status.how == "systemd" else "direct", reload=not start),
                "starting the cache's nginx" if start else "reloading the cache's nginx",
            )
        return result

    @staticmethod
    def _install(shell, server, path, text):
        if path != server.config:
            remote_files.install(shell, path, text)
            return
        # A new nginx configuration is tested before it replaces the old one.
        candidate = path + ".nixfleet-new"
        remote_files.install(shell, candidate, text)
        tested = shell.run(bc.test_config_command(server, candidate))
        if tested.rc != 0:
            shell.run(argv("rm", "-f", candidate))
            raise NixError(
                "nginx rejects the cache's configuration; nothing was changed",
                host=shell.label,
                rc=tested.rc,
                stderr=tested.stderr,
            )
        shell.check(argv("mv", "-f", candidate, path), "installing %s" % path)
