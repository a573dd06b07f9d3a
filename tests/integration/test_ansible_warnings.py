"""No task of ours makes ansible-core warn: a first deploy, a no-op, check mode with diffs, verify
and rollback print no ``[WARNING]`` or ``[DEPRECATION WARNING]`` (on every ansible-core the matrix
runs: 2.20+ warns about result keys it owns, such as ``finished``, and older ones about others).

On the locked versions every warning fails the test. The leg that runs the newest ansible-core with
the newest of what it pulls in (tests/matrix/run, leg unstable) sets
``NIXFLEET_DEPENDENCY_WARNINGS=report``: there a Python warning a dependency prints (not raised from
this collection's files; see warning_lines.py) is reported by name in pytest's warnings summary,
and a warning about our code still fails."""

import os
import warnings

import pytest

from fleetctl import ROOT, FixtureFlake
from fleet_fixtures import own_fleet
from playbook_helpers import run_playbook_text, write_fleet_inventory
from warning_lines import split_warnings

pytestmark = pytest.mark.integration

REPORT_DEPENDENCIES = os.environ.get("NIXFLEET_DEPENDENCY_WARNINGS") == "report"


class DependencyWarningReport(UserWarning):
    """A warning a dependency printed while Ansible ran our playbooks (reported, not failed, when
    ``NIXFLEET_DEPENDENCY_WARNINGS=report``)."""


fleet = own_fleet("warn", 2, ["node02"], "127.0.67.11")


@pytest.fixture(scope="module")
def inventory(fleet, tmp_path_factory):
    flake = FixtureFlake.create(
        tmp_path_factory.mktemp("warn-flake") / "flake", fleet, {"node01": "colmena", "node02": "deploy-rs"}
    )
    return write_fleet_inventory(tmp_path_factory.mktemp("warn-inventory"), fleet, flake)


@pytest.mark.parametrize(
    "name, args",
    [
        ("deploy.yml", ()),  # first deploy: build, copy, switch, report
        ("deploy.yml", ()),  # no-op
        ("deploy.yml", ("--check", "--diff")),
        ("deploy.yml", ("--limit", "node01")),  # the report from the activation play
        ("verify.yml", ()),
        ("rollback.yml", ("-e", "nixos_rollback_generation=1")),
    ],
)
def test_no_warning_from_ansible_core(inventory, name, args):
    rc, out = run_playbook_text(inventory, name, *args)
    assert rc == 0, out[-3000:]
    ours, theirs = split_warnings(out, str(ROOT))
    assert ours == [], "\n".join(ours)
    if REPORT_DEPENDENCIES:
        for warning in sorted(set(theirs), key=str):
            warnings.warn(DependencyWarningReport("%s printed %s" % (name, warning)), stacklevel=2)
    else:
        assert theirs == [], "\n".join(map(str, theirs))
