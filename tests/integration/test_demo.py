"""The README's demo command, as a user runs it."""

import subprocess

import pytest

from fleetctl import ROOT, nsfleet

pytestmark = pytest.mark.integration


def test_demo_command():
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo.sh")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout
    out = proc.stdout
    for name in ("node01", "node02", "node03"):
        assert "HTTP says: %s 1" % name in out
        assert "%s  switched  none -> 1" % name in out  # the summary table of the first deploy
    recaps = [line for line in out.splitlines() if line.startswith("node0") and "ok=" in line]
    assert len(recaps) == 6
    assert all("changed=0" in line and "failed=0" in line for line in recaps[3:])
    assert "== fleet stopped" in out
    assert not (ROOT / ".state" / "demo").exists()
    assert nsfleet.mounts_under(ROOT) == []
