"""No task of ours makes ansible-core warn: a first deploy, a no-op, check mode with diffs, verify
and rollback print no ``[WARNING]`` or ``[DEPRECATION WARNING]`` (on every ansible-core the matrix
runs: 2.20+ warns about result keys it owns, such as ``finished``, and older ones about others)."""
import re

import pytest

from fleetctl import FixtureFlake, running_fleet
from playbook_helpers import run_playbook_text, write_fleet_inventory

pytestmark = pytest.mark.integration

WARNING = re.compile(r"\[(DEPRECATION )?WARNING\]|^\s*WARNING:|Deprecation", re.MULTILINE)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    with running_fleet(tmp_path_factory.mktemp("warn-fleet") / "state", 2, ["node02"], "127.0.67.11") as f:
        yield f


@pytest.fixture(scope="module")
def inventory(fleet, tmp_path_factory):
    flake = FixtureFlake.create(tmp_path_factory.mktemp("warn-flake") / "flake", fleet,
                                {"node01": "colmena", "node02": "deploy-rs"})
    return write_fleet_inventory(tmp_path_factory.mktemp("warn-inventory"), fleet, flake)


@pytest.mark.parametrize("name, args", [
    ("deploy.yml", ()),                      # first deploy: build, copy, switch, report
    ("deploy.yml", ()),                      # no-op
    ("deploy.yml", ("--check", "--diff")),
    ("deploy.yml", ("--limit", "node01")),   # the report from the activation play
    ("verify.yml", ()),
    ("rollback.yml", ("-e", "nixos_rollback_generation=1")),
])
def test_no_warning_from_ansible_core(inventory, name, args):
    rc, out = run_playbook_text(inventory, name, *args)
    assert rc == 0, out[-3000:]
    warnings = [line for line in out.splitlines() if WARNING.search(line)]
    assert warnings == [], "\n".join(warnings)
