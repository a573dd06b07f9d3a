"""module_utils/_remote/own_processes.py: ``nf_ours PID PATH`` run by the real sh against real processes: this
shell's own, a gone one, and one in a mount namespace of its own that sees another file at PATH
(as each fleet host's processes do)."""

import os
import subprocess
import time

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote import own_processes
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import argv, raw


def ours(pid, path):
    command = raw("@{f}; nf_ours @{pid} @{path}", f=own_processes.function(), pid=pid, path=path)
    return subprocess.run(["sh", "-c", command.text], check=False).returncode == 0


def test_a_process_of_ours_sees_our_files(tmp_path):
    (tmp_path / "state").mkdir()
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        assert ours(sleeper.pid, str(tmp_path / "state"))
        assert not ours(sleeper.pid, str(tmp_path / "missing"))  # a path we do not have
    finally:
        sleeper.kill()
        sleeper.wait()
    assert not ours(sleeper.pid, str(tmp_path / "state"))  # gone


@pytest.mark.host_tools
def test_a_process_in_another_mount_namespace_is_not_ours(tmp_path):
    """Its /tmp/…/state is a tmpfs of its own: same root, another file."""
    state = tmp_path / "state"
    state.mkdir()
    inside = (
        argv("mount", "-t", "tmpfs", "none", str(state))
        .and_then(argv("touch", str(state / "ready")))
        .and_then(argv("exec", "sleep", "30"))
    )
    neighbour = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", inside.text])
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists("/proc/%d/root%s/ready" % (neighbour.pid, state)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert os.path.exists("/proc/%d/root%s/ready" % (neighbour.pid, state))
        assert not (state / "ready").exists()  # the tmpfs is not ours
        assert not ours(neighbour.pid, str(state))
    finally:
        neighbour.kill()
        neighbour.wait()
