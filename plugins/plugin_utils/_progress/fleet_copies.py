# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""One progress line for a task on many hosts: "copying to 3/14 hosts: 1.2/3.4 GiB", "activating
8/50 hosts", "health checks 40/50 hosts".

Each host's task runs in its own Ansible worker process. Each writes how far it got to a small
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
from typing import Callable, Dict, List, Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils._progress import progress_text
from ansible_collections.nixfleet.nixos.plugins.module_utils._progress.nix_log import NixLog
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._progress.progress import Progress

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


class FleetTask:
    """One task (``task_id``) of one ansible-playbook run (``playbook_pid``) on many hosts: each host's
    state in a file, the task's line from all of them (``render(states, seconds)``)."""

    def __init__(
        self,
        progress: Progress,
        task_id: str,
        kind: str,
        render: Callable[[List[Dict], float], progress_text.Line],
        playbook_pid: Optional[int] = None,
        base: Optional[str] = None,
    ) -> None:
        self.progress = progress
        self.render = render
        base = base or base_directory()
        pid = playbook_pid if playbook_pid is not None else os.getppid()
        name = "".join(c for c in "%s-%s" % (task_id, kind) if c.isalnum() or c in "-_")
        self.directory = os.path.join(base, "%d-%s" % (pid, name))  # a task's copies and its count apart
        self.base = base
        self.started = time.time()
        self._made = False

    def _make(self) -> None:
        """The task's directory, made by its first host (the stale ones of ended runs removed)."""
        if not self._made:
            os.makedirs(self.base, mode=0o700, exist_ok=True)
            _remove_stale(self.base)
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            self._made = True

    def record(self, host: str, state: Dict, finished: bool = False) -> None:
        """Record ``host``'s state (counters only), and show the task's line when it is due (at once
        when every host begun has finished)."""
        if not self.progress.on:
            return
        try:
            self._record(host, state, finished)
        except OSError:  # a full or unwritable temporary directory: no task line, the work goes on
            return
        self._show()

    def _record(self, host: str, state: Dict, finished: bool) -> None:
        self._make()
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in host).lstrip(".") or "_"
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp")
        with os.fdopen(handle, "w") as out:
            json.dump(dict(state, started=self.started, finished=finished), out)
        os.replace(temporary, os.path.join(self.directory, name + ".json"))

    def _show(self) -> None:
        try:
            line = self._due_line()
        except OSError:
            return
        if line is not None:
            self.progress.show(line, force=True)

    def _due_line(self) -> Optional[progress_text.Line]:
        """The task's line if it is due (None if not), under the lock."""
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
                return None
            with open(os.path.join(self.directory, LAST), "w") as last:
                last.write(repr(now))
        started = min([s.get("started", now) for s in states] or [now])
        return self.render(states, now - started)

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


class FleetCopies(FleetTask):
    """A task's copies to many hosts: "copying to 3/14 hosts: 40/120 paths, 1.2/3.4 GiB"."""

    def __init__(
        self, progress: Progress, task_id: str, playbook_pid: Optional[int] = None, base: Optional[str] = None
    ) -> None:
        super().__init__(
            progress,
            task_id,
            "copy",
            lambda states, seconds: progress_text.fleet_copying(summary(states), seconds),
            playbook_pid,
            base,
        )

    def update(self, host: str, log: NixLog, finished: bool = False) -> None:
        self.record(
            host,
            {
                "paths": [log.paths_copied, max(log.copies.expected, log.missing or 0)],
                "bytes": [log.copied_bytes, log.bytes_expected],
                "written": log.written or 0,
            },
            finished,
        )


class FleetHosts(FleetTask):
    """A task on many hosts, counted: "activating 8/50 hosts" (hosts done of ``total``, the play's batch)."""

    def __init__(
        self,
        progress: Progress,
        task_id: str,
        phase: progress_text.Phase,
        total: int,
        playbook_pid: Optional[int] = None,
        base: Optional[str] = None,
    ) -> None:
        super().__init__(
            progress,
            task_id,
            phase.name.lower(),
            lambda states, seconds: progress_text.hosts_done(
                phase,
                sum(1 for s in states if s.get("finished")),
                max(total, len(states)),
                seconds,
                waiting=sum(1 for s in states if s.get("confirming") and not s.get("finished")),
            ),
            playbook_pid,
            base,
        )


def summary(states: List[Dict]) -> progress_text.FleetCopy:
    """The sum of the hosts' copies."""

    def total(key: str, index: int) -> int:
        return sum(int((s.get(key) or [0, 0])[index]) for s in states)

    return progress_text.FleetCopy(
        hosts=len(states),
        done=sum(1 for s in states if s.get("finished")),
        paths=total("paths", 0),
        paths_expected=total("paths", 1),
        bytes=total("bytes", 0),
        bytes_expected=total("bytes", 1),
        written=sum(int(s.get("written") or 0) for s in states),
    )
