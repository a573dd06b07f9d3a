# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.sops_age_key (documented in plugins/modules/sops_age_key.py)."""

from __future__ import annotations

from ansible.errors import AnsibleError

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets import key_placement as kp
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote import target_file as tf
from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets.age_keys import AgeKeyError, recipients_of
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote import remote_files
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import NixosAction
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.controller_files import read_text
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._secrets.host_age_keys import DEFAULT_PATHS, KEY_FILE


class ActionModule(NixosAction):
    PATH_OPTIONS = ("path",)
    ARGSPEC = {
        "content": {"type": "str", "no_log": True},
        "src": {"type": "path"},
        "path": {"type": "str", "default": DEFAULT_PATHS[KEY_FILE]},
        "owner": {"type": "str", "default": "root"},
        "group": {"type": "str", "default": "root"},
        "mode": {"type": "str", "default": "0600"},
        "dir_mode": {"type": "str", "default": "0700"},
        "force": {"type": "bool", "default": False},
    }

    def execute(self, args, task_vars):
        if (args["content"] is None) == (args["src"] is None):
            raise NixError("give exactly one of content (the key, e.g. from a vault) or src (a file on the controller)")
        mode, dir_mode = tf.parse_mode(args["mode"]), tf.parse_mode(args["dir_mode"])
        content = kp.normalise(self._key_text(args))
        where = "src %s" % args["src"] if args["src"] else "content"
        try:
            recipients = recipients_of(content, where)
        except AgeKeyError as exc:
            raise NixError("invalid age key, nothing was changed: %s" % exc)

        shell = self.shell(task_vars)
        owner, group = args["owner"], args["group"]
        uid, gid, current = shell.perform(tf.owner_probe(owner, group, args["path"]))
        for option, name, number in (("owner", owner, uid), ("group", group, gid)):
            if number is None:
                raise NixError(
                    "%s %r does not exist on the host; nothing was changed" % (option, name), host=shell.label
                )
        if uid is None or gid is None:  # (both refused above; this tells the type checker)
            raise AssertionError("unreachable")
        desired = kp.Desired(args["path"], content, uid, gid, mode)
        try:
            plan = kp.plan(current, desired, args["force"])
        except kp.KeyPlacementRefused as exc:
            raise NixError("%s; nothing was changed" % exc, host=shell.label)

        result = {
            "changed": plan.changed,
            "path": desired.path,
            "recipients": recipients,
            "action": plan.action,
            "msg": "; ".join(plan.reasons) or "%s is in place" % desired.path,
        }
        if self._task.diff:
            result["diff"] = {
                "before_header": desired.path,
                "after_header": desired.path,
                "before": kp.describe(desired.path, current),
                "after": kp.describe(desired.path, desired.state()),
            }
        if self._task.check_mode or not plan.changed:
            return result
        if plan.action == kp.WRITE:
            remote_files.install(shell, desired.path, content, mode, owner, group, dir_mode, sensitive=True)
        else:
            shell.check(
                tf.fix_permissions_command(desired.path, owner, group, mode),
                "fixing the owner and mode of %s" % desired.path,
            )
        return result

    def _key_text(self, args) -> str:
        if args["content"] is not None:
            return args["content"]
        try:
            source = self._find_needle("files", args["src"])
        except AnsibleError:
            raise NixError("src %s: no such file on the controller" % args["src"])
        return read_text(source, "src")
