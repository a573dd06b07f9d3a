# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One progress line for a task's copies to many hosts: "copying to 3/14 hosts: 1.2/3.4 GiB".

Each host's copy runs in its own Ansible worker process. Each writes how far its copy got to a small
JSON file in a directory of the task's own (under the controller's temporary directory, named by the
ansible-playbook process and the task's id); whichever worker finds, under a lock, that the last line
is ``Progress.interval`` seconds old shows the sum of all of them. Only counters go into the files.
Directories of ansible-playbook processes that ended are removed by the next task that copies.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import time
from typing import Dict, List, Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils import progress_text
from ansible_collections.nixfleet.nixos.plugins.module_utils.nix_log import NixLog
from ansible_collections.nixfleet.nixos.plugins.plugin_utils.progress import Progress

LOCK = ".lock"
LAST = ".last"


def base_directory() -> str:
    return os.path.join(tempfile.gettempdir(), "nixfleet-progress-%d" % os.getuid())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(base: str) -> None:
    """Remove the directories of ansible-playbook processes that are gone."""
    for name in os.listdir(base):
        pid = name.split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)


class FleetCopies:
    """The copies of one task (``task_id``) of one ansible-playbook run (``playbook_pid``)."""

    def __init__(self, progress: Progress, task_id: str, playbook_pid: Optional[int] = None,
                 base: Optional[str] = None) -> None:
        self.progress = progress
        base = base or base_directory()
        pid = playbook_pid if playbook_pid is not None else os.getppid()
        self.directory = os.path.join(base, "%d-%s" % (pid, "".join(c for c in task_id if c.isalnum() or c in "-_")))
        self.base = base
        self.started = time.time()
        self._made = False

    def _make(self) -> None:
        """The task's directory, made by its first copy (the stale ones of ended runs removed)."""
        if not self._made:
            os.makedirs(self.base, mode=0o700, exist_ok=True)
            _remove_stale(self.base)
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            self._made = True

    def update(self, host: str, log: NixLog, finished: bool = False) -> None:
        """Record ``host``'s copy so far, and show the task's line when it is due (at once when every
        copy begun has ended)."""
        if not self.progress.on:
            return
        self._make()
        state = {"started": self.started, "finished": finished, "paths": [log.paths_copied, max(log.copies.expected, log.missing or 0)],
                 "bytes": [log.copied_bytes, log.bytes_expected], "written": log.written or 0}
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in host).lstrip(".") or "_"
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp")
        with os.fdopen(handle, "w") as out:
            json.dump(state, out)
        os.replace(temporary, os.path.join(self.directory, name + ".json"))
        self._show()

    def _show(self) -> None:
        with open(os.path.join(self.directory, LOCK), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            states = self._states()
            every_one_ended = all(s.get("finished") for s in states)
            now = time.time()
            try:
                with open(os.path.join(self.directory, LAST)) as last:
                    due = now - float(last.read() or 0) >= self.progress.interval
            except (OSError, ValueError):
                due = True
            if not (due or every_one_ended):
                return
            with open(os.path.join(self.directory, LAST), "w") as last:
                last.write(repr(now))
        started = min([s.get("started", now) for s in states] or [now])
        self.progress.show(progress_text.fleet_copying(summary(states), now - started), force=True)

    def _states(self) -> List[Dict]:
        states = []
        for name in os.listdir(self.directory):
            if name.endswith(".json"):
                try:
                    with open(os.path.join(self.directory, name)) as state:
                        states.append(json.load(state))
                except (OSError, ValueError):
                    continue
        return states


def summary(states: List[Dict]) -> progress_text.FleetCopy:
    """The sum of the hosts' copies."""
    def total(key: str, index: int) -> int:
        return sum(int((s.get(key) or [0, 0])[index]) for s in states)

    return progress_text.FleetCopy(hosts=len(states), done=sum(1 for s in states if s.get("finished")),
                                   paths=total("paths", 0), paths_expected=total("paths", 1),
                                   bytes=total("bytes", 0), bytes_expected=total("bytes", 1),
                                   written=sum(int(s.get("written") or 0) for s in states))
