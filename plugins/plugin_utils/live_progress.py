# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A phase's progress shown while it runs: its line at its start, every ``Progress.interval`` seconds
(even when nothing happens: a build that sleeps, a host that takes long to evaluate) and at its end.

``LiveLog`` does it for a running nix command: each stderr line goes to one ``NixLog`` (under a lock:
lines arrive in a reader thread while the ticker renders), and a failed build is shown as it fails
(its derivation and last log lines).
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional, TypeVar

from ansible_collections.nixfleet.nixos.plugins.module_utils import progress_text
from ansible_collections.nixfleet.nixos.plugins.module_utils.nix_log import NixLog
from ansible_collections.nixfleet.nixos.plugins.plugin_utils.progress import Progress

Render = Callable[[NixLog, float], progress_text.Line]
T = TypeVar("T", bound="Ticking")


class Ticking:
    """Shows ``render(seconds since start)`` at the start, every interval and at the end (a context
    manager); ``show()`` any time something changed (the throttle decides)."""

    def __init__(self, progress: Progress, render: Callable[[float], progress_text.Line]) -> None:
        self.progress = progress
        self.render = render
        self.started = time.monotonic()
        self.lock = threading.Lock()  # held while rendering: what it reads may change in another thread
        self._done = threading.Event()
        self._ticker: Optional[threading.Thread] = None

    def show(self, force: bool = False) -> None:
        if not self.progress.on:
            return
        with self.lock:
            line = self.render(time.monotonic() - self.started)
        self.progress.show(line, force=force)

    def _tick(self) -> None:
        while not self._done.wait(self.progress.interval):
            self.show()

    def __enter__(self: T) -> T:
        if self.progress.on:
            self.show(force=True)
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._done.set()
        if self._ticker is not None:
            self._ticker.join()
            self.show(force=True)


class LiveLog(Ticking):
    """A nix command's progress: pass ``feed`` as its stderr line reader."""

    def __init__(self, progress: Progress, render: Render) -> None:
        self.log = NixLog()
        super().__init__(progress, lambda elapsed: render(self.log, elapsed))

    def feed(self, text: str) -> None:
        with self.lock:
            failed = self.log.feed(text)
        for build in failed:
            self.progress.show(progress_text.build_failed(build.drv, list(build.tail)), force=True)
        self.show()
