# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.sops_age_key (documented in plugins/modules/sops_age_key.py)."""

from __future__ import annotations

from ansible.errors import AnsibleError

from ansible_collections.nixfleet.nixos.plugins.module_utils import key_placement as kp
from ansible_collections.nixfleet.nixos.plugins.module_utils import secret_file as sf
from ansible_collections.nixfleet.nixos.plugins.module_utils.age_keys import AgeKeyError, recipients_of
from ansible_collections.nixfleet.nixos.plugins.module_utils.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils.action_base import NixosAction
from ansible_collections.nixfleet.nixos.plugins.plugin_utils.host_age_keys import DEFAULT_PATHS, KEY_FILE


class ActionModule(NixosAction):

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
        try:
            mode, dir_mode = sf.parse_mode(args["mode"]), sf.parse_mode(args["dir_mode"])
        except ValueError as exc:
            raise NixError(str(exc))
        content = kp.normalise(self._key_text(args))
        where = "src %s" % args["src"] if args["src"] else "content"
        try:
            recipients = recipients_of(content, where)
        except AgeKeyError as exc:
            raise NixError("invalid age key, nothing was changed: %s" % exc)

        shell = self.shell(task_vars)
        uid, gid = self._ids(shell, args["owner"], args["group"])
        desired = kp.Desired(args["path"], content, uid, gid, mode)
        current = sf.parse_probe(shell.check(sf.probe_command(desired.path), "reading %s" % desired.path,
                                             sensitive=True).stdout)
        try:
            plan = kp.plan(current, desired, args["force"])
        except kp.KeyPlacementRefused as exc:
            raise NixError("%s; nothing was changed" % exc, host=shell.label)

        result = {"changed": plan.changed, "path": desired.path, "recipients": recipients, "action": plan.action,
                  "msg": "; ".join(plan.reasons) or "%s is in place" % desired.path}
        if self._task.diff:
            result["diff"] = {"before_header": desired.path, "after_header": desired.path,
                              "before": kp.describe(current, desired.path),
                              "after": kp.describe(None, desired.path, content, uid, gid, mode)}
        if self._task.check_mode or not plan.changed:
            return result
        if plan.action == kp.WRITE:
            shell.check(sf.write_command(desired.path, args["owner"], args["group"], mode, dir_mode),
                        "writing %s" % desired.path, stdin=content, sensitive=True)
        else:
            shell.check(sf.fix_permissions_command(desired.path, args["owner"], args["group"], mode),
                        "fixing the owner and mode of %s" % desired.path)
        after = sf.parse_probe(shell.check(sf.probe_command(desired.path), "reading %s" % desired.path,
                                           sensitive=True).stdout)
        if (after.content, after.uid, after.gid, after.mode) != (content, uid, gid, mode):
            raise NixError("%s is not as written after writing it" % desired.path, host=shell.label)
        return result

    def _key_text(self, args) -> str:
        if args["content"] is not None:
            return args["content"]
        try:
            source = self._find_needle("files", args["src"])
        except AnsibleError:
            raise NixError("src %s: no such file on the controller" % args["src"])
        try:
            with open(source, encoding="utf-8") as handle:
                return handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise NixError("src %s cannot be read: %s" % (args["src"], exc.__class__.__name__))

    @staticmethod
    def _ids(shell, owner: str, group: str):
        if owner.isdigit() and group.isdigit():
            return int(owner), int(group)
        words = shell.check(sf.id_command(owner, group), "looking up %s:%s" % (owner, group)).stdout.split()
        if len(words) != 2 or not all(w.isdigit() for w in words):
            raise NixError("owner %r or group %r does not exist on the host" % (owner, group), host=shell.label)
        return (int(owner) if owner.isdigit() else int(words[0])), (int(group) if group.isdigit() else int(words[1]))
