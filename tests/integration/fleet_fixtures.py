"""The module-scoped fixtures of a test module that runs a fleet of its own, made once here:

    fleet = own_fleet("deploy", 4, ["node04"], "127.0.11.11")
    flake = fleet_flake("deploy", SHAPES)
    inventory = fleet_inventory("deploy")

Each module's fleet has its own loopback addresses (``first_address``: "127.0.X.11", X unused by any
other module). A module whose flake or inventory needs more writes that fixture itself, on top of
``write_fleet_inventory`` and ``FixtureFlake``. The session's shared fleet is ``session_fleet``
(tests/integration/conftest.py): no module fixture shadows it."""

from typing import Dict, Sequence

import pytest

from fleetctl import FixtureFlake, running_fleet
from playbook_helpers import write_fleet_inventory


def own_fleet(name: str, hosts: int, without_python: Sequence[str] = (), first_address: str = "", **options):
    """A ``fleet`` fixture: ``hosts`` hosts from ``first_address`` on (``without_python`` of them have no
    Python; ``options`` go to ``running_fleet``: names, deploy_users, systemd, shared_pid ...)."""

    @pytest.fixture(scope="module")
    def fleet(tmp_path_factory):
        with running_fleet(
            tmp_path_factory.mktemp(name + "-fleet") / "state",
            hosts,
            list(without_python),
            first_address=first_address,
            **options,
        ) as running:
            yield running

    return fleet


def fleet_flake(name: str, shapes: Dict[str, str]):
    """A ``flake`` fixture: the fixture flake for the module's fleet, each host in its ``shapes`` form
    (colmena, deploy-rs, plain; hosts not named are plain)."""

    @pytest.fixture(scope="module")
    def flake(fleet, tmp_path_factory):
        return FixtureFlake.create(tmp_path_factory.mktemp(name + "-flake") / "flake", fleet, shapes)

    return flake


def fleet_inventory(name: str):
    """An ``inventory`` fixture: the flake inventory of the module's fleet and flake."""

    @pytest.fixture(scope="module")
    def inventory(fleet, flake, tmp_path_factory):
        return write_fleet_inventory(tmp_path_factory.mktemp(name + "-inventory"), fleet, flake)

    return inventory
