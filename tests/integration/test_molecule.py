"""Every role's Molecule scenario, with one `molecule test --all` as CI runs it: create and destroy
bring local fleet hosts up and down; converge, idempotence and verify (testinfra over plain ssh)
run against them."""

import os
import re
import subprocess
import sys

import pytest
from fleetctl import ROOT

pytestmark = pytest.mark.integration

BIN = os.path.dirname(sys.executable)
ROLES = sorted(os.listdir(ROOT / "roles"))
SCENARIOS = sorted(d for d in os.listdir(ROOT / "molecule") if (ROOT / "molecule" / d / "molecule.yml").exists())


def test_every_role_has_a_scenario():
    assert SCENARIOS == ROLES


def test_molecule_test_all():
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", NO_COLOR="1", PY_COLORS="0")
    proc = subprocess.run(
        [os.path.join(BIN, "molecule"), "test", "--all"],
        cwd=str(ROOT),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=1500,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-8000:]
    text = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout)
    for scenario in SCENARIOS:
        for step in ("converge", "idempotence", "verify", "destroy"):
            # "[sops_age > verify] Executed: Successful" (or "sops_age ➜ verify: …" in colour)
            assert re.search(r"%s\W+%s\W+Executed: Successful" % (scenario, step), text), (scenario, step)
