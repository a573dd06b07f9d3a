# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""A phase's progress shown while it runs: its line at its start, every ``Progress.interval`` seconds
(even when nothing happens: a build that sleeps, a host that takes long to evaluate) and at its end.

``LiveLog`` does it for a running nix command: each stderr line goes to one ``NixLog`` (under a lock:
lines arrive in a reader thread while the ticker renders), and a failed build is shown as it fails
(its derivation and last log lines).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Dict, Optional, Sequence, TypeVar

from ansible_collections.nixfleet.nixos.plugins.module_utils._progress import progress_text
from ansible_collections.nixfleet.nixos.plugins.module_utils._progress.nix_log import NixLog
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.evaluation_pool import EvaluationPool
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._progress.progress import Progress

Render = Callable[[NixLog, float], progress_text.Line]
T = TypeVar("T", bound="Ticking")


class Ticking:
    """Shows ``render(seconds since start)`` at the start, every interval and at the end (a context
    manager); ``show()`` any time something changed (the throttle decides)."""

    def __init__(
        self,
        progress: Progress,
        render: Callable[[float], progress_text.Line],
        per_host: bool = False,
        on_tick: Optional[Callable[[bool], None]] = None,
    ) -> None:
        self.progress = progress
        self.render = render
        self.per_host = per_host  # its lines only with -v
        self.on_tick = on_tick  # also called at the start, every interval, and (with True) at the end
        self.started = time.monotonic()
        self.lock = threading.Lock()  # held while rendering: what it reads may change in another thread
        self._done = threading.Event()
        self._ticker: Optional[threading.Thread] = None

    def show(self, force: bool = False) -> None:
        if not self.progress.on:
            return
        with self.lock:
            line = self.render(time.monotonic() - self.started)
        self.progress.show(line, force=force, per_host=self.per_host)

    def _tick(self) -> None:
        while not self._done.wait(self.progress.interval):
            self.show()
            self._ticked(False)

    def _ticked(self, finished: bool) -> None:
        if self.on_tick is not None:
            with self.lock:
                self.on_tick(finished)

    def __enter__(self: T) -> T:
        if self.progress.on:
            self.show(force=True)
            self._ticked(False)
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._done.set()
        if self._ticker is not None:
            self._ticker.join()
            self.show(force=True)
            self._ticked(True)


class LiveLog(Ticking):
    """A nix command's progress: pass ``feed`` as its stderr line reader."""

    def __init__(
        self,
        progress: Progress,
        render: Render,
        per_host: bool = False,
        on_tick: Optional[Callable[[NixLog, bool], None]] = None,
    ) -> None:
        self.log = NixLog()
        super().__init__(
            progress,
            lambda elapsed: render(self.log, elapsed),
            per_host,
            (lambda finished: on_tick(self.log, finished)) if on_tick else None,
        )

    def feed(self, text: str) -> None:
        with self.lock:
            failed = self.log.feed(text)
        for build in failed:
            self.progress.show(progress_text.build_failed(build.drv, list(build.tail)), force=True)
        if self.progress.on:
            self.show()


def run_pool(progress: Progress, pool: EvaluationPool, hosts: Sequence[str], already: int = 0) -> Dict[str, Any]:
    """``pool.run(hosts)``, showing "evaluating N/M hosts" after each process and every interval
    (``already``: hosts evaluated before, e.g. with the flake's listing, counted in)."""
    counts = [already, already + len(hosts)]
    with Ticking(progress, lambda elapsed: progress_text.evaluating(counts[0], counts[1], elapsed)) as ticking:

        def evaluated(done: int, total: int) -> None:
            counts[:] = [already + done, already + total]
            ticking.show()

        pool.on_progress = evaluated
        return pool.run(hosts)
