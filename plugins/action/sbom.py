# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.sbom (documented in plugins/modules/sbom.py)."""

from __future__ import annotations

import json
import os
import tempfile
import time

from ansible_collections.nixfleet.nixos.plugins.module_utils._reports import derivation_sources as ds, sbom as sb
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes.flake_ref import ref_rev
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.store_path import store_path_option
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import NIX_ARGSPEC, NixosAction
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.activation import Activator


class ActionModule(NixosAction):
    ARGSPEC = dict(
        NIX_ARGSPEC,
        path={"type": "str"},
        dest={"type": "path", "required": True},
        flake={"type": "str"},
        sources={"type": "bool", "default": True},
    )

    def execute(self, args, task_vars):
        host = task_vars.get("inventory_hostname") or self._play_context.remote_addr
        path = args["path"] or Activator(self.shell(task_vars)).state().running_system
        if not path:
            raise NixError("no system runs on the host (no /run/current-system); give path", host=host)
        try:
            path = store_path_option(path, "path")
        except ValueError as exc:
            raise NixError(str(exc), host=host)
        cli = self.nix_cli(args)
        infos, source = self._local_closure(cli, path), "controller"
        if infos is None:  # the controller lacks the system: read the host's store
            target = self.ssh_target(task_vars)
            infos = cli.path_info(
                [path], store=target.store_url(), recursive=True, env=target.nix_env(), host=target.label
            )
            source = "host"
        flake = args["flake"] or task_vars.get("nixos_flake")
        sources = self._sources(cli, path, infos) if args["sources"] and source == "controller" else {}
        try:
            bom = sb.sbom(
                path,
                infos,
                host,
                flake=flake,
                rev=ref_rev(flake),
                sources=sources,
                timestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            )
        except sb.SbomError as exc:
            raise NixError(str(exc), host=host)
        changed = not sb.same_bom(self._existing(args["dest"]), bom)
        if changed and not self._task.check_mode:
            self._write(args["dest"], bom)
        return {
            "changed": changed,
            "dest": args["dest"],
            "path": path,
            "components": len(sb.component_paths(bom)),
            "read_from": source,
            "with_sources": len(sources),
        }

    @staticmethod
    def _sources(cli, path, infos):
        """Where each package's derivation fetched its sources, when the controller has the system's
        derivation (it built it): one ``nix derivation show --recursive``. Else none."""
        deriver = (infos.get(path) or {}).get("deriver")
        if not deriver:
            return {}
        try:  # (not a path-info first: for a .drv, nix path-info answers about its outputs)
            return ds.sources_by_path(infos, cli.derivations([deriver]))
        except (NixError, ValueError):
            return {}

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
