"""FleetCopies / FleetHosts (plugins/plugin_utils/_progress/fleet_copies.py): one progress line for a
task on many hosts, summed over the Ansible worker processes, and the directories of ended runs removed."""

import os
import subprocess
from typing import List

from ansible_collections.nixfleet.nixos.plugins.module_utils._progress import nix_log, progress_text as pt
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._progress import fleet_copies, progress
from recorded_outputs import RECORDED_OUTPUTS as OUTPUTS


def _copy_log(version="2.34.8"):
    log = nix_log.NixLog()
    for line in (OUTPUTS / version / "internal-json-copy.stderr").read_text().splitlines():
        log.feed(line)
    return log


def test_the_copies_of_many_hosts_make_one_line(tmp_path):
    """Two workers (each its own FleetCopies, as each Ansible worker process has) copying to two hosts:
    one line sums both; it is shown when due, and at once when every copy begun has ended."""
    shown: List[str] = []
    prog = progress.Progress(emit=shown.append, interval=3600)
    first = fleet_copies.FleetCopies(prog, "task-1", playbook_pid=os.getpid(), base=str(tmp_path))
    second = fleet_copies.FleetCopies(prog, "task-1", playbook_pid=os.getpid(), base=str(tmp_path))
    first.update("node01", nix_log.NixLog())
    second.update("node02", _copy_log())  # not due (an hour between lines), and node01 still copies
    first.update("node01", _copy_log(), finished=True)  # not every copy ended
    second.update("node02", _copy_log(), finished=True)  # now every one has
    assert [line.split(" (")[0] for line in shown] == [
        "nixfleet: copying to 0/1 hosts: 0/0 paths",
        "nixfleet: copying to 2/2 hosts: 4/4 paths, 592/592 B",
    ]
    other = fleet_copies.FleetCopies(prog, "task-2", playbook_pid=os.getpid(), base=str(tmp_path))
    other.update("node01", _copy_log("2.8.0"), finished=True)  # another task: its own line
    assert shown[-1].startswith("nixfleet: copying to 1/1 hosts: 2/2 paths (")


def test_the_directories_of_ended_runs_are_removed(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / ("%d-task" % dead.pid)
    stale.mkdir()
    mine = fleet_copies.FleetCopies(
        progress.Progress(emit=lambda _line: None), "task", playbook_pid=os.getpid(), base=str(tmp_path)
    )
    mine.update("node01", nix_log.NixLog())
    assert not stale.exists() and os.path.isdir(mine.directory)


def test_a_task_on_many_hosts_is_counted_in_one_line(tmp_path):
    shown: List[str] = []
    prog = progress.Progress(emit=shown.append, interval=3600)
    workers = [
        fleet_copies.FleetHosts(prog, "task-9", pt.Phase.ACTIVATING, 3, playbook_pid=os.getpid(), base=str(tmp_path))
        for _host in range(3)
    ]
    for worker, host in zip(workers, ("a", "b", "c")):
        worker.record(host, {})
    workers[0].record("a", {}, finished=True)
    workers[2].record("c", {"confirming": True})
    workers[1].record("b", {"confirming": True})
    prog.interval = 0  # due now
    workers[1].record("b", {"confirming": True})
    prog.interval = 3600
    workers[2].record("c", {}, finished=True)
    workers[1].record("b", {}, finished=True)
    assert [line.split(" (")[0] for line in shown] == [
        "nixfleet: activating 0/3 hosts",
        "nixfleet: activating 1/3 hosts, waiting for 2 confirmations",
        "nixfleet: activating 3/3 hosts",
    ]
    # the same task's copies are counted apart
    copies = fleet_copies.FleetCopies(prog, "task-9", playbook_pid=os.getpid(), base=str(tmp_path))
    copies.update("a", _copy_log(), finished=True)
    assert shown[-1].startswith("nixfleet: copying to 1/1 hosts: 2/2 paths, 296/296 B")
