# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.provenance (documented in plugins/modules/provenance.py)."""

from __future__ import annotations

import json
import os
import time

from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes import flake_inventory as fi
from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain import provenance as pv
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_argv import hash_argv
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import argv
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.store_path import store_path_option
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._secrets import dsse_signing
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote import remote_files
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import NIX_ARGSPEC, NixosAction
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.controller_files import write_files


class ActionModule(NixosAction):
    ARGSPEC = dict(
        NIX_ARGSPEC,
        path={"type": "str"},
        only_check_key={"type": "bool", "default": False},
        key={"type": "str", "required": True, "no_log": True},
        flake={"type": "str"},
        attribute={"type": "str"},
        builder={"type": "str", "default": "controller", "choices": list(pv.BUILDERS)},
        builder_host={"type": "str"},
        action={"type": "str", "default": "switch"},
        started={"type": "float"},
        finished={"type": "float"},
        changed_system={"type": "bool", "default": True},
        output_dir={"type": "path"},
        keep={"type": "int", "default": 20},
    )

    def execute(self, args, task_vars):
        host = self._label(task_vars)
        if args["keep"] < 1:
            raise ValueError("keep must be 1 or more (the statement just written stays), not %d" % args["keep"])
        key = dsse_signing.private_key(args["key"], "key")
        if args["only_check_key"]:
            keyid = dsse_signing.public_key_of(key.public_key()).keyid
            return {"changed": False, "keyid": keyid, "msg": "the provenance key %s is an Ed25519 key" % keyid[:16]}
        if not args["path"]:
            raise ValueError("path: give the deployed system (a store path)")
        path = store_path_option(args["path"], "path")
        flake = args["flake"] or task_vars.get("nixos_flake")
        if not flake:
            raise NixError("no flake to vouch for: set nixos_flake (the flake inventory does) or give flake", host=host)
        flake = str(flake)
        if flake.startswith("-") or any(c.isspace() or ord(c) < 32 for c in flake) or len(flake) > 4096:
            raise ValueError("flake %r is not a flake reference" % flake[:80])
        shell = self.shell(task_vars)
        target = pv.host_file(path)
        existing = remote_files.probe(shell, target)
        if existing.kind == "file" and not args["changed_system"]:
            return {"changed": False, "file": target, "msg": "%s already has the provenance of %s" % (host, path)}
        if self._task.check_mode:  # (the system may not even be built: nothing to hash yet)
            return {
                "changed": True,
                "file": target,
                "msg": "%s: would sign and keep the provenance of %s" % (host, path),
            }
        cli = self.nix_cli(args)
        deployer = self.deployer(task_vars)
        now = time.time()
        resources = tuple(pv.flake_resources(flake, cli.flake_metadata(flake)))
        deployment = pv.Deployment(
            host=host,
            system=path,
            nar_sha256=pv.hex_digest(self._nar_hash(cli, shell, path)),
            flake=flake,
            attribute=args["attribute"]
            or str(
                task_vars.get("nixos_toplevel_attr")
                or "%s.%s" % (fi.attr_path("nixosConfigurations", host), fi.TOPLEVEL)
            ),
            resources=resources,
            nix_version=self._nix_version(cli),
            builder=args["builder"],
            builder_host=args["builder_host"]
            or (host if args["builder"] == "target" else deployer.by.rpartition("@")[2]),
            action=args["action"],
            by=deployer.by,
            awx_job=deployer.awx_job,
            awx_user=deployer.awx_user,
            started=args["started"] if args["started"] is not None else now,
            finished=args["finished"] if args["finished"] is not None else now,
        )
        statement = pv.statement(deployment)
        envelope, keyid = dsse_signing.sign(key, statement)
        text = json.dumps(envelope, indent=2, sort_keys=True) + "\n"
        shell.check(pv.store_command(path, args["keep"]), "keeping the provenance of %s" % path, stdin=text)
        files = (
            write_files(
                os.path.join(args["output_dir"], "provenance"), {"%s%s" % (host, pv.SUFFIX): text}, "the provenance"
            )
            if args["output_dir"]
            else []
        )
        return {
            "changed": True,
            "file": target,
            "keyid": keyid,
            "subject": statement["subject"][0],
            "statement": statement,
            "files": files,
            "msg": "%s keeps the provenance of %s, signed by key %s" % (host, path, keyid[:16]),
        }

    @staticmethod
    def _nix_version(cli):
        """``2.8.0`` (Nix), ``Lix 2.91.1``."""
        version = cli.version()
        return str(version) if version.is_lix else ".".join(str(n) for n in version.version)

    @staticmethod
    def _nar_hash(cli, shell, path):
        """From the controller's store, or the host's (a system built there or on a build host)."""
        info = cli.path_info([path]).get(path)
        if info and info.get("narHash"):
            return info["narHash"]
        return shell.check(
            argv(*hash_argv([path])), "reading the NAR hash of %s" % path, privileged=False
        ).stdout.strip()
