# -*- coding: utf-8 -*-
# Test helper: print a whole playbook run as one JSON document (ansible-core 2.19 ships no
# builtin json callback; ansible.posix is not installed offline).
from __future__ import annotations

DOCUMENTATION = r"""
name: test_json
type: stdout
short_description: One JSON document for the whole run (tests only)
description: Plays, tasks with every host's result, and the stats, printed at the end.
"""

import json

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "test_json"

    def __init__(self):
        super().__init__()
        self.plays = []

    def v2_playbook_on_play_start(self, play):
        self.plays.append({"play": {"name": play.get_name()}, "tasks": []})

    def _task_entry(self, task):
        tasks = self.plays[-1]["tasks"]
        if not tasks or tasks[-1]["task"]["uuid"] != task._uuid:
            tasks.append({"task": {"name": task.get_name(), "uuid": task._uuid}, "hosts": {}})
        return tasks[-1]

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_entry(task)

    def _record(self, result, **extra):
        entry = self._task_entry(result._task)
        data = dict(self._convert_result(result._result))
        data.update(extra)
        entry["hosts"][result._host.get_name()] = data

    @staticmethod
    def _convert_result(data):
        return json.loads(json.dumps(data, default=str))

    def v2_runner_on_ok(self, result, **kwargs):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True)

    def v2_runner_on_unreachable(self, result):
        self._record(result, unreachable=True)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_playbook_on_stats(self, stats):
        summary = {h: stats.summarize(h) for h in sorted(stats.processed.keys())}
        # set_stats data (what ansible-runner and AWX keep as artifact_data): "_run" when per_host is false
        custom = self._convert_result(getattr(stats, "custom", {}) or {})
        print(json.dumps({"plays": self.plays, "stats": summary, "custom": custom}, indent=1))
