"""Live progress lines (module_utils._progress.progress_text, plugin_utils._progress.progress): their
words from Nix's real logs, the throttle, the one switch, and progress that cannot be shown never
breaking the work."""

import os
import sys
from typing import List

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._progress import nix_log, progress_text as pt
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._progress import fleet_copies, progress
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.process import run


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _progress(verbose=False):
    shown: List[str] = []
    clock = Clock()
    return progress.Progress(emit=shown.append, verbose=verbose, interval=2.0, clock=clock), shown, clock


def test_a_phase_prints_at_most_every_interval_and_at_once_when_it_changes():
    prog, shown, clock = _progress()
    assert prog.show(pt.evaluating(0, 50, 0))
    clock.now += 1.0
    assert not prog.show(pt.evaluating(12, 50, 1))  # too soon
    clock.now += 1.5
    assert prog.show(pt.evaluating(20, 50, 2.5))
    clock.now += 0.1
    assert prog.show(pt.Line(pt.Phase.BUILDING, "building 0/3 derivations"))  # a new phase: at once
    assert prog.show(pt.evaluating(50, 50, 3), force=True)  # a phase's last word
    assert not prog.show(pt.evaluating(50, 50, 3), force=True)  # the same line twice: once
    assert shown == [
        "nixfleet: evaluating 0/50 hosts (0 s)",
        "nixfleet: evaluating 20/50 hosts (2 s)",
        "nixfleet: building 0/3 derivations",
        "nixfleet: evaluating 50/50 hosts (3 s)",
    ]


def test_per_host_lines_only_with_verbose():
    quiet, shown, _clock = _progress()
    assert not quiet.show(pt.Line(pt.Phase.COPYING, "copying to node01"), per_host=True) and shown == []
    loud, shown, _clock = _progress(verbose=True)
    assert loud.show(pt.Line(pt.Phase.COPYING, "copying to node01"), per_host=True) and shown


def test_one_variable_turns_it_off():
    assert progress.enabled({}) and progress.enabled({"NIXFLEET_PROGRESS": "1"})
    for off in ("0", "false", "No", " off "):
        assert not progress.enabled({"NIXFLEET_PROGRESS": off})
        assert progress.for_action(3, {"NIXFLEET_PROGRESS": off}) is progress.OFF
    assert not progress.OFF.on and not progress.OFF.show(pt.evaluating(1, 2, 0), force=True)


def test_the_interval_between_lines_may_be_set():
    assert progress.interval({}) == progress.INTERVAL == 2.0
    assert progress.interval({"NIXFLEET_PROGRESS_INTERVAL": " 0.25 "}) == 0.25
    assert progress.for_action(0, {"NIXFLEET_PROGRESS_INTERVAL": "5"}).interval == 5.0
    for bad in ("0", "-1", "soon", "nan", "1e9"):
        with pytest.raises(ValueError, match="NIXFLEET_PROGRESS_INTERVAL=.*more than 0, at most 3600"):
            progress.interval({"NIXFLEET_PROGRESS_INTERVAL": bad})


def test_progress_that_cannot_be_shown_stops_and_never_breaks_the_work(tmp_path):
    def broken(_text: str) -> None:
        raise OSError("the display is gone")

    prog = progress.Progress(emit=broken)
    assert not prog.show(pt.evaluating(0, 1, 0)) and not prog.on  # it stopped
    # a line reader that fails does not stop the command's output from being read

    def fail(_line: str) -> None:
        raise ZeroDivisionError("the reader fails")

    result = run(
        [sys.executable, "-c", "import sys; [sys.stderr.write('line %d\\n' % i) for i in range(20000)]"], on_line=fail
    )
    assert result.rc == 0 and result.stderr.count("\n") == 20000
    # a temporary directory that cannot be made (a file is in the way, even for root): no task line, no error
    blocked = tmp_path / "blocked"
    blocked.write_text("")
    shown: List[str] = []
    copies = fleet_copies.FleetCopies(
        progress.Progress(emit=shown.append), "t", playbook_pid=os.getpid(), base=str(blocked / "sub")
    )
    copies.update("node01", nix_log.NixLog(), finished=True)
    assert shown == []
