# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.cache_key (documented in plugins/modules/cache_key.py)."""

from __future__ import annotations

import os
import tempfile

from ansible_collections.nixfleet.nixos.plugins.module_utils._caches import cache_key as ck
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import NixosAction
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.controller_files import read_text
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.process import check, run


def _install(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically, mode 0600 from the start."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".nixfleet-key.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class ActionModule(NixosAction):
    """Runs on the controller only: the signing key never goes to a host."""

    ARGSPEC = {
        "name": {"type": "str"},
        "secret_key_file": {"type": "path", "required": True},
        "secret_key": {"type": "str", "no_log": True},
        "force": {"type": "bool", "default": False},
    }

    def execute(self, args, task_vars):
        path = args["secret_key_file"]
        try:
            wanted = ck.public_of_secret(args["secret_key"], "secret_key") if args["secret_key"] else None
            if args["name"]:
                ck.check_name(args["name"])
            if os.path.exists(path):
                current = read_text(path, "secret_key_file")
                public = ck.public_of_secret(current, path)
                if wanted and current.strip() != args["secret_key"].strip():
                    if not args["force"]:
                        raise NixError(
                            "%s already holds another key (%s); set force: true to replace it; nothing "
                            "was changed" % (path, public)
                        )
                    return self._write(path, args["secret_key"], wanted, "replaced")
                if os.stat(path).st_mode & 0o077:
                    raise NixError(
                        "%s is readable by others (mode %04o): the key may have leaked; rotate it"
                        % (path, os.stat(path).st_mode & 0o777)
                    )
                return {
                    "changed": False,
                    "secret_key_file": path,
                    "public_key": public,
                    "key_name": ck.key_name(public),
                }
            if wanted:
                return self._write(path, args["secret_key"], wanted, "written")
            if not args["name"]:
                raise NixError("%s does not exist: give name (to generate a key) or secret_key" % path)
        except ck.CacheKeyError as exc:
            raise NixError("%s; nothing was changed" % exc)
        return self._generate(path, args["name"])

    def _write(self, path, secret, public, how):
        if not self._task.check_mode:
            _install(path, secret.strip() + "\n")
        return {
            "changed": True,
            "secret_key_file": path,
            "public_key": public,
            "key_name": ck.key_name(public),
            "msg": "signing key %s %s" % (ck.key_name(public), how),
        }

    def _generate(self, path, name):
        if self._task.check_mode:
            return {
                "changed": True,
                "secret_key_file": path,
                "public_key": None,
                "key_name": name,
                "msg": "a signing key %s would be generated" % name,
            }
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, mode=0o700, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=directory) as tmp:
            os.chmod(tmp, 0o700)
            secret, public = os.path.join(tmp, "secret"), os.path.join(tmp, "public")
            check(
                run(["nix-store", "--generate-binary-cache-key", name, secret, public]),
                "nix-store --generate-binary-cache-key",
            )
            os.chmod(secret, 0o600)
            os.replace(secret, path)
            generated = read_text(public, "the generated public key").strip()
        return {
            "changed": True,
            "secret_key_file": path,
            "public_key": generated,
            "key_name": name,
            "msg": "signing key %s generated" % name,
        }
