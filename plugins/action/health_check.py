# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.health_check (documented in plugins/modules/health_check.py)."""

from __future__ import annotations

import time
import urllib.error

from ansible.module_utils.urls import open_url

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import health
from ansible_collections.nixfleet.nixos.plugins.module_utils._progress.progress_text import Phase
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import NixosAction

CHECK_SPEC = {
    "name": {"type": "str"},
    "type": {"type": "str", "required": True, "choices": list(health.CHECK_TYPES)},
    "argv": {"type": "list", "elements": "str"},
    "url": {"type": "str"},
    "host": {"type": "str"},
    "port": {"type": "int"},
    "path": {"type": "str"},
    "scheme": {"type": "str", "default": "http", "choices": ["http", "https"]},
    "status": {"type": "list", "elements": "int"},
    "body": {"type": "str"},
    "json_query": {"type": "str"},
    "validate_certs": {"type": "bool", "default": True},
    "from": {"type": "str", "default": "controller", "choices": ["controller", "target"]},
    "retries": {"type": "int", "default": 5},
    "delay": {"type": "float", "default": 2},
    "timeout": {"type": "float", "default": 5},
}


class ActionModule(NixosAction):
    FLEET_PHASE = Phase.HEALTH  # "health checks 8/50 hosts"

    ARGSPEC = {"checks": {"type": "list", "elements": "dict", "required": True, "options": CHECK_SPEC}}

    def execute(self, args, task_vars):
        try:
            checks = [health.parse_check(spec, i) for i, spec in enumerate(args["checks"])]
        except ValueError as exc:
            raise NixError("invalid health check: %s" % exc)
        if self._task.check_mode:
            return {"changed": False, "checks": [], "msg": "health checks are not run in check mode"}
        shell = self.shell(task_vars)
        results = [self._run_check(check, shell) for check in checks]
        failed = any(not r["ok"] for r in results)
        message = health.summarize(results)
        return {
            "changed": False,
            "failed": failed,
            "checks": results,
            "msg": ("%s: %s" % (shell.label, message)) if failed else message,
        }

    def _run_check(self, check, shell):
        message = None
        attempts = 0
        for attempt in range(check.retries + 1):
            attempts = attempt + 1
            message, retry = self._attempt(check, shell)
            if message is None or not retry:
                break
            if attempt < check.retries:
                time.sleep(check.delay)
        return {
            "name": check.name,
            "type": check.type,
            "ok": message is None,
            "attempts": attempts,
            "message": message or "ok",
        }

    def _attempt(self, check, shell):
        """(why it failed or None, whether another attempt may help)."""
        if check.type == "cmd":
            result = shell.run(health.cmd_command(check))
            if result.rc == 0:
                return None, False
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or [""]
            return "%s exited %d %s" % (" ".join(check.argv), result.rc, tail[0]), True
        if check.type == "systemd":
            return shell.perform(health.systemd_state())
        if check.source == "target":
            result = shell.run(health.http_target_command(check), privileged=False)
            if result.rc == 127:
                return result.stderr.strip(), False
            status, body = health.split_http_output(result.stdout)
        else:
            status, body = self._http_from_controller(check)
        return health.judge_http(check, status, body), True

    @staticmethod
    def _http_from_controller(check):
        try:
            response = open_url(check.url, timeout=check.timeout, validate_certs=check.validate_certs)
            with response:
                return response.status, response.read(1 << 20).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(1 << 20).decode("utf-8", "replace")
        except (urllib.error.URLError, OSError):
            return None, ""
