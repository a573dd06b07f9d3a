# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.copy_closure (documented in plugins/modules/copy_closure.py)."""

from __future__ import annotations

from ansible_collections.nixfleet.nixos.plugins.module_utils.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils.nix_command import FRESH_NARINFO
from ansible_collections.nixfleet.nixos.plugins.module_utils.shell import join
from ansible_collections.nixfleet.nixos.plugins.module_utils.store_path import StorePath
from ansible_collections.nixfleet.nixos.plugins.plugin_utils.action_base import NIX_ARGSPEC, NixosAction


UNREACHABLE = "cannot open connection to remote store"
UNTRUSTED = "is not signed by any of the keys"


class ActionModule(NixosAction):

    ARGSPEC = dict(
        NIX_ARGSPEC,
        path={"type": "str", "required": True},
        mode={"type": "str", "default": "push", "choices": ["push", "substitute", "cache"]},
        cache_url={"type": "str"},
        scheme={"type": "str", "default": "ssh-ng", "choices": ["ssh-ng", "ssh"]},
        check_sigs={"type": "bool", "default": False},
    )

    def execute(self, args, task_vars):
        try:
            path = StorePath(args["path"]).path
        except ValueError as exc:
            raise NixError(str(exc))
        if args["mode"] == "cache" and not args["cache_url"]:
            raise NixError("mode=cache needs cache_url (the binary cache the target pulls from)")
        shell = self.shell(task_vars)
        present = shell.run(join(["nix-store", "--check-validity", path])).rc == 0
        result = {"path": path, "mode": args["mode"], "copied": False, "changed": not present}
        if present or self._task.check_mode:
            return result
        if args["mode"] == "cache":
            self._fetch(shell, path, args["cache_url"])
        else:
            target = self.ssh_target(task_vars)
            try:
                substitute = args["mode"] == "substitute"
                self.nix_cli(args).copy([path], target.store_url(args["scheme"]), env=target.nix_env(),
                                        host=target.label, substitute_on_destination=substitute,
                                        no_check_sigs=not args["check_sigs"], fresh_narinfo=substitute,
                                        extra_substituters=[args["cache_url"]] if substitute and args["cache_url"] else [])
            except NixError as exc:
                if UNREACHABLE in exc.stderr:
                    exc.unreachable = True
                raise
        if shell.run(join(["nix-store", "--check-validity", path])).rc != 0:
            raise NixError("%s is still not valid on the target after the copy" % path, host=shell.label)
        result["copied"] = True
        return result

    @staticmethod
    def _fetch(shell, path, cache_url):
        """The target substitutes ``path`` from ``cache_url``, checking signatures as its nix.conf says."""
        fetched = shell.run(join(["nix-store", "--realise", path, "--option", "substituters", cache_url]
                                 + list(FRESH_NARINFO)))
        if fetched.rc == 0:
            return
        if UNTRUSTED in fetched.stderr:
            raise NixError("%s refused %s from %s: it is not signed by any key in the host's trusted-public-keys. "
                           "Add the cache's public key there (nixfleet.nixos.nix_conf, role substituters; on NixOS "
                           "nix.settings.trusted-public-keys), or sign the paths with a key the host trusts; "
                           "nothing was switched" % (shell.label, path, cache_url), rc=fetched.rc,
                           stderr=fetched.stderr, host=shell.label)
        raise NixError("fetching %s from %s failed" % (path, cache_url), rc=fetched.rc, stderr=fetched.stderr,
                       host=shell.label)
