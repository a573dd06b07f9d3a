# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.deploy_manifest (documented in plugins/modules/deploy_manifest.py)."""

from __future__ import annotations

import os
import tempfile
from typing import Optional
from urllib.parse import parse_qs, urlsplit

from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes import deploy_manifest as dm
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._caches.nix_conf import NixConfError, validate_store_url
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.store_path import store_path_option
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import NixosAction


def _rev(flake: str) -> Optional[str]:
    """The ``rev`` a locked flake ref pins (None for a path: ref, which pins a narHash)."""
    revs = parse_qs(urlsplit(flake).query).get("rev")
    return revs[0] if revs else None


class ActionModule(NixosAction):
    _requires_connection = False
    ARGSPEC = {
        "dest": {"type": "path", "required": True},
        "paths": {"type": "dict", "required": True},
        "drv_paths": {"type": "dict", "default": {}},
        "cache": {"type": "str"},
        "flake": {"type": "str"},
    }

    def execute(self, args, task_vars):
        try:
            if args["cache"]:
                validate_store_url(args["cache"], "cache")
            hosts = {
                str(h): dm.Entry(
                    store_path_option(p, "paths"),
                    store_path_option(args["drv_paths"][h], "drv_paths") if args["drv_paths"].get(h) else None,
                )
                for h, p in args["paths"].items()
            }
        except (ValueError, NixConfError) as exc:
            raise NixError("%s; no manifest was written" % exc)
        if not hosts:
            raise NixError("no host was built: no manifest was written")
        flake = args["flake"] or ""
        if not flake:
            flakes = {
                str(task_vars["hostvars"][h].get("nixos_flake", ""))
                for h in hosts
                if h in task_vars.get("hostvars", {})
            }
            flake = flakes.pop() if len(flakes) == 1 else ""
        text = dm.Manifest(flake=flake, rev=_rev(flake), cache=args["cache"] or None, hosts=hosts).render()
        dest = args["dest"]
        before = open(dest).read() if os.path.isfile(dest) else ""
        result = {"changed": before != text, "dest": dest, "hosts": sorted(hosts), "flake": flake}
        if self._task.diff:
            result["diff"] = {"before_header": dest, "after_header": dest, "before": before, "after": text}
        if result["changed"] and not self._task.check_mode:
            directory = os.path.dirname(os.path.abspath(dest))
            tmp = None
            try:
                fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=directory)
                with os.fdopen(fd, "w") as handle:
                    handle.write(text)
                os.chmod(tmp, 0o644)
                os.replace(tmp, dest)
            except OSError as exc:
                if tmp is not None and os.path.exists(tmp):
                    os.unlink(tmp)
                raise NixError("writing the manifest %s failed: %s" % (dest, exc))
        return result
