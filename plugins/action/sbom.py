# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.sbom (documented in plugins/modules/sbom.py)."""

from __future__ import annotations

import json
import os
import tempfile
import time
from urllib.parse import parse_qs, urlsplit

from ansible_collections.nixfleet.nixos.plugins.module_utils import sbom as sb
from ansible_collections.nixfleet.nixos.plugins.module_utils.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils.store_path import StorePath
from ansible_collections.nixfleet.nixos.plugins.plugin_utils.action_base import NIX_ARGSPEC, NixosAction
from ansible_collections.nixfleet.nixos.plugins.plugin_utils.activation import Activator


def flake_rev(ref):
    """The ``rev`` a locked flake ref names (``git+file:///infra?rev=abc…``), if any."""
    values = parse_qs(urlsplit(ref or "").query).get("rev")
    return values[0] if values else None


class ActionModule(NixosAction):

    ARGSPEC = dict(
        NIX_ARGSPEC,
        path={"type": "str"},
        dest={"type": "path", "required": True},
        flake={"type": "str"},
    )

    def execute(self, args, task_vars):
        host = task_vars.get("inventory_hostname") or self._play_context.remote_addr
        path = args["path"] or Activator(self.shell(task_vars)).state().running_system
        if not path:
            raise NixError("no system runs on the host (no /run/current-system); give path", host=host)
        try:
            path = StorePath(path).path
        except ValueError as exc:
            raise NixError(str(exc), host=host)
        cli = self.nix_cli(args)
        infos, source = self._local_closure(cli, path), "controller"
        if infos is None:  # the controller lacks the system: read the host's store
            target = self.ssh_target(task_vars)
            infos = cli.path_info([path], store=target.store_url(), recursive=True, env=target.nix_env(),
                                  host=target.label)
            source = "host"
        flake = args["flake"] or task_vars.get("nixos_flake")
        try:
            bom = sb.sbom(path, infos, host, flake=flake, rev=flake_rev(flake),
                          timestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        except sb.SbomError as exc:
            raise NixError(str(exc), host=host)
        changed = not sb.same_bom(self._existing(args["dest"]), bom)
        if changed and not self._task.check_mode:
            self._write(args["dest"], bom)
        return {"changed": changed, "dest": args["dest"], "path": path, "components": len(sb.component_paths(bom)),
                "read_from": source}

    @staticmethod
    def _local_closure(cli, path):
        """The closure's path-info from the controller's store in one nix call (a deploy just built the
        system), or None when the store lacks it (``--recursive`` fails on such a path, or says null)."""
        try:
            infos = cli.path_info([path], recursive=True)
        except NixError:
            return None
        return infos if infos.get(path) is not None else None

    @staticmethod
    def _existing(dest):
        try:
            with open(dest, encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return {}

    @staticmethod
    def _write(dest, bom):
        """Atomically, on the controller (a reader never sees half a file)."""
        directory = os.path.dirname(os.path.abspath(dest))
        try:
            os.makedirs(directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".sbom-", dir=directory)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(bom, handle, indent=2, sort_keys=True)
                handle.write("\n")
            os.chmod(tmp, 0o644)
            os.replace(tmp, dest)
        except OSError as exc:
            raise NixError("writing the SBOM to %s failed: %s" % (dest, exc.strerror))
