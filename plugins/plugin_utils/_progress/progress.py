# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Live progress from an action plugin while its task runs, through Ansible's display.

A worker's ``display.display`` goes through the final queue to the main process (ansible-core 2.15+),
so the line reaches the terminal - and, under ansible-runner / AWX, a job event - while the task still
runs. A phase prints at most every ``INTERVAL`` seconds (or ``NIXFLEET_PROGRESS_INTERVAL``), and at
once when it begins; per-host lines only with ``-v``; nothing when ``NIXFLEET_PROGRESS`` is ``0`` (or
``false``/``no``/``off``).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Mapping, Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils._progress.progress_text import Line, Phase

ENV_VAR = "NIXFLEET_PROGRESS"  # 0/false/no/off: no progress lines
INTERVAL_VAR = "NIXFLEET_PROGRESS_INTERVAL"  # seconds between two lines of one phase, instead of INTERVAL
INTERVAL = 2.0
_OFF = ("0", "false", "no", "off")


def enabled(environ: Optional[Mapping[str, str]] = None) -> bool:
    return (os.environ if environ is None else environ).get(ENV_VAR, "1").strip().lower() not in _OFF


def interval(environ: Optional[Mapping[str, str]] = None) -> float:
    """Seconds between two lines of one phase: ``NIXFLEET_PROGRESS_INTERVAL``, else ``INTERVAL``."""
    text = (os.environ if environ is None else environ).get(INTERVAL_VAR, "").strip()
    if not text:
        return INTERVAL
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 3600:
        raise ValueError(
            "%s=%r: give the seconds between two progress lines of a phase (more than 0, at most "
            "3600)" % (INTERVAL_VAR, text[:40])
        )
    return seconds


@dataclass
class Progress:
    """Sends throttled progress lines to ``emit`` (thread-safe: a command's stderr is read in a thread)."""

    emit: Optional[Callable[[str], None]] = None  # None: progress is off
    verbose: bool = False  # per-host lines too
    interval: float = INTERVAL
    clock: Callable[[], float] = time.monotonic
    _last: Dict[Phase, float] = field(default_factory=dict)
    _shown: Dict[Phase, str] = field(default_factory=dict)  # each phase's last line
    _phase: Optional[Phase] = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def on(self) -> bool:
        return self.emit is not None

    def show(self, line: Line, force: bool = False, per_host: bool = False) -> bool:
        """Print ``line`` if its phase printed nothing for ``interval`` seconds, if the phase changed, or
        ``force`` (a phase's first and last word); returns whether it printed."""
        if self.emit is None or (per_host and not self.verbose):
            return False
        with self._lock:
            now = self.clock()
            last = self._last.get(line.phase)
            if not force and line.phase == self._phase and last is not None and now - last < self.interval:
                return False
            if self._shown.get(line.phase) == line.text:  # the same words again say nothing new
                return False
            self._last[line.phase], self._phase, self._shown[line.phase] = now, line.phase, line.text
        try:
            self.emit(line.render())
        except Exception:  # pylint: disable=broad-except  # progress never breaks the work: it stops instead
            self.emit = None
            return False
        return True


OFF = Progress()


def for_action(verbosity: int, environ: Optional[Mapping[str, str]] = None) -> Progress:
    """The progress of an action plugin's task, shown through Ansible's display."""
    if not enabled(environ):
        return OFF
    from ansible.utils.display import Display  # a singleton: the worker's proxies to the main process

    display = Display()
    return Progress(emit=display.display, verbose=verbosity >= 1, interval=interval(environ))


def for_inventory(verbosity: int, environ: Optional[Mapping[str, str]] = None) -> Progress:
    """The inventory's progress, on stderr (``ansible-inventory --list`` prints its JSON on stdout)."""
    if not enabled(environ):
        return OFF
    from ansible.utils.display import Display

    display = Display()
    return Progress(
        emit=lambda text: display.display(text, stderr=True), verbose=verbosity >= 1, interval=interval(environ)
    )
