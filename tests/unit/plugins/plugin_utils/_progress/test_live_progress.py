"""LiveLog (plugins/plugin_utils/_progress/live_progress.py): a nix command's progress lines while it
runs, read from Nix's real logs."""

import sys
from typing import List

from ansible_collections.nixfleet.nixos.plugins.module_utils._progress import progress_text as pt
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._progress import live_progress, progress
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.process import run
from recorded_outputs import RECORDED_OUTPUTS as OUTPUTS


def test_a_running_command_shows_its_progress_and_a_failed_build_at_once(tmp_path):
    """A stand-in nix replays Nix 2.8's real log of a failed build with pauses: the failure is shown
    when its line arrives, lines in between while it runs, and the log reads back as Nix's text."""
    lines = (OUTPUTS / "2.8.0" / "internal-json-build-failed.stderr").read_text().splitlines()
    log_file = tmp_path / "log"
    log_file.write_text("\n".join(lines) + "\n")
    script = (
        "import sys, time\nfor line in open(sys.argv[1]):\n    sys.stderr.write(line); sys.stderr.flush()\n"
        "    if 'about to fail' in line or 'dep done' in line: time.sleep(0.6)\n"
    )
    shown: List[str] = []
    prog = progress.Progress(emit=shown.append, interval=0.25)
    with live_progress.LiveLog(prog, pt.building) as live:
        result = run([sys.executable, "-c", script, str(log_file)], on_line=live.feed)
    assert result.rc == 0
    failed = [i for i, s in enumerate(shown) if "failed; last 2 log lines" in s]
    assert len(failed) == 1 and shown[failed[0]].endswith(
        "progress-bad.drv failed; last 2 log lines:\n  > about to fail\n  > line two"
    )
    building = [s for s in shown if s.startswith("nixfleet: building")]
    assert building[0] == "nixfleet: building (0 s)"  # before Nix said what it builds
    assert building[-1].startswith("nixfleet: building 2/3 derivations (0 running, 1 failed")
    assert failed[0] < len(shown) - 2  # shown before the build ended
    assert "last 2 log lines:\n       > about to fail" in live.log.stderr
