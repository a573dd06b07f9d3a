"""Every role's Molecule scenario (molecule/<role>/): create and destroy bring the local fleet up and
down; converge, idempotence and verify (testinfra over plain ssh) run against it."""
import os
import subprocess
import sys

import pytest
from fleetctl import ROOT

pytestmark = pytest.mark.integration

BIN = os.path.dirname(sys.executable)
SCENARIOS = sorted(d for d in os.listdir(ROOT / "molecule") if (ROOT / "molecule" / d / "molecule.yml").exists())


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", NO_COLOR="1", PY_COLORS="0")
    proc = subprocess.run([os.path.join(BIN, "molecule"), "test", "-s", scenario], cwd=str(ROOT), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert "idempotence: Executed: Successful" in proc.stdout.replace("➜ ", "")
    assert "verify: Executed: Successful" in proc.stdout.replace("➜ ", "")
