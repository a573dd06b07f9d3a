# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A running nix command's progress, read from its ``internal-json`` log and shown while it runs.

``LiveLog`` feeds each stderr line to one ``NixLog`` (under a lock: lines arrive in a reader thread,
while a ticker renders the line every ``Progress.interval`` seconds even when Nix is silent, e.g. a
build that sleeps), shows a failed build as it fails (its derivation and last log lines), and the
phase's line when it starts and when it ends.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils import progress_text
from ansible_collections.nixfleet.nixos.plugins.module_utils.nix_log import NixLog
from ansible_collections.nixfleet.nixos.plugins.plugin_utils.progress import Progress

Render = Callable[[NixLog, float], progress_text.Line]


class LiveLog:
    """Use as a context manager around the command; pass ``feed`` as its stderr line reader."""

    def __init__(self, progress: Progress, render: Render) -> None:
        self.log = NixLog()
        self.progress = progress
        self.render = render
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._ticker: Optional[threading.Thread] = None

    def feed(self, text: str) -> None:
        with self._lock:
            failed = self.log.feed(text)
        for build in failed:
            self.progress.show(progress_text.build_failed(build.drv, list(build.tail)), force=True)
        if self.progress.on:
            self.show()

    def show(self, force: bool = False) -> None:
        with self._lock:
            line = self.render(self.log, time.monotonic() - self.started)
        self.progress.show(line, force=force)

    def _tick(self) -> None:
        while not self._done.wait(self.progress.interval):
            self.show()

    def __enter__(self) -> "LiveLog":
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
