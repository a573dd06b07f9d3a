# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.cache_push (documented in plugins/modules/cache_push.py)."""

from __future__ import annotations

from ansible_collections.nixfleet.nixos.plugins.module_utils._caches import cache_key as ck
from ansible_collections.nixfleet.nixos.plugins.module_utils._caches import nix_conf as nc
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._progress.progress_text import Phase
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.store_path import store_path_option
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import NIX_ARGSPEC, NixosAction
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.controller_files import read_text


def _key_name(path: str) -> str:
    try:
        return ck.key_name(ck.public_of_secret(read_text(path, "secret_key_file"), path))
    except ck.CacheKeyError as exc:
        raise NixError(str(exc))


class ActionModule(NixosAction):
    """Runs on the controller (use run_once): one nix copy for every path."""

    ARGSPEC = dict(
        NIX_ARGSPEC,
        paths={"type": "list", "elements": "str", "required": True},
        to={"type": "str", "required": True},
        secret_key_file={"type": "path"},
    )

    def execute(self, args, task_vars):
        try:
            paths = sorted({store_path_option(p, "paths") for p in args["paths"]})
            nc.validate_store_url(args["to"], "to")
        except (ValueError, nc.NixConfError) as exc:
            raise NixError("%s; nothing was pushed" % exc)
        key_name = _key_name(args["secret_key_file"]) if args["secret_key_file"] else None
        nix = self.nix_cli(args)
        missing = nix.missing_paths(paths, store=args["to"], fresh_narinfo=True)
        result = {"changed": bool(missing), "url": args["to"], "paths": paths, "pushed": missing, "signed_by": key_name}
        if self._task.check_mode or not missing:
            return result
        if args["secret_key_file"]:
            nix.sign(missing, args["secret_key_file"])
        nix.copy(missing, args["to"], fresh_narinfo=True, phase=Phase.PUSHING)
        still = nix.missing_paths(missing, store=args["to"], fresh_narinfo=True)
        if still:
            raise NixError(
                "after nix copy to %s these paths are still missing there: %s" % (args["to"], ", ".join(still))
            )
        if key_name:
            info = nix.path_info(missing, store=args["to"], fresh_narinfo=True)
            unsigned = [
                p
                for p in missing
                if not any(s.startswith(key_name + ":") for s in (info.get(p) or {}).get("signatures", []))
            ]
            if unsigned:
                raise NixError(
                    "%s holds %s without a signature by %s (the cache kept an older, unsigned copy?)"
                    % (args["to"], ", ".join(unsigned), key_name)
                )
        return result
