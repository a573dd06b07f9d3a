"""nixos-rebuild --build-host: hosts with nixos_deploy_build_on=builder are built on their build host
(an inventory host with its own connection settings), once for all of them, and each target copies its
system from the build host, never through the controller's store. bld01 builds; hb01 and hb02 deploy."""

import pytest
import yaml

from fleetctl import FixtureFlake, inside, system_state, valid_on_controller
from fleet_fixtures import own_fleet
from playbook_helpers import failures, run_playbook, write_fleet_inventory, write_static_group

pytestmark = pytest.mark.integration

TARGETS = ["hb01", "hb02"]


fleet = own_fleet("build-host", 3, ["hb02"], "127.0.34.11", names=["bld01"] + TARGETS)


@pytest.fixture(scope="module")
def flake(fleet, tmp_path_factory):
    return FixtureFlake.colmena_hosts(tmp_path_factory.mktemp("build-host-flake") / "flake", fleet, TARGETS)


@pytest.fixture(scope="module")
def inventory(fleet, flake, tmp_path_factory):
    """The flake inventory for the targets and a static one for the build host, in one directory; the
    targets' group_vars name the build host."""
    directory = tmp_path_factory.mktemp("build-host-inventory")
    write_fleet_inventory(directory, fleet, flake)
    write_static_group(directory, fleet, "builders", ["bld01"])
    (directory / "group_vars" / "nixos.yml").write_text(
        yaml.safe_dump({"nixos_deploy_build_on": "builder", "nixos_deploy_build_host": "bld01"})
    )
    return directory


def valid_on(host, path):
    return inside(host, "nix-store --check-validity %s >/dev/null 2>&1 && echo yes || echo no" % path).strip() == "yes"


def test_the_build_host_builds_every_system_once_and_targets_copy_from_it(fleet, flake, inventory):
    paths = {n: flake.out_path(n) for n in TARGETS}
    run = run_playbook(inventory, "deploy.yml", limit="nixos")
    assert run.rc == 0, failures(run)
    build = list(run.results("Build every host's system with one nix build").values())[0]
    assert build["on_builder"] == {"bld01": TARGETS} and "build" not in build["nix_calls"]
    remote = list(run.results("Build on the build hosts").values())[0]["results"]
    assert len(remote) == 1  # one round for the build host, for both hosts
    assert remote[0]["builder"] == "bld01" and remote[0]["built"] == paths and remote[0]["steps"] == ["copy", "realise"]
    for name in TARGETS:
        assert valid_on(fleet["bld01"], paths[name])  # built there
        assert not valid_on_controller(paths[name])  # never in the controller's store
        assert run.results("Copy and switch to the system")[name]["copied"] is True
        assert system_state(fleet[name]) == ("system-1-link", paths[name])


def test_a_second_run_builds_and_copies_nothing(fleet, inventory):
    run = run_playbook(inventory, "deploy.yml", limit="nixos")
    assert run.rc == 0, failures(run)
    remote = list(run.results("Build on the build hosts").values())[0]["results"][0]
    assert remote["changed"] is False and remote["steps"] == []
    assert all(run.stats(n)["changed"] == 0 for n in TARGETS)


def test_a_system_that_fails_to_build_there_fails_only_its_host(fleet, flake, inventory):
    before = system_state(fleet["hb02"])
    flake.set_host("hb01", version="2")
    flake.set_host("hb02", version="2", fail="build")
    try:
        run = run_playbook(inventory, "deploy.yml", limit="nixos")
    finally:
        flake.set_host("hb02", fail="none")
    assert run.rc != 0
    said = {host: msg for _task, host, msg in failures(run)}
    assert "on the build host bld01 failed" in said["hb02"], said
    assert "building the system of hb02 failed (fixture failure mode 'build')" in said["hb02"], said
    assert "hb01" not in said
    assert system_state(fleet["hb01"])[1] == flake.out_path("hb01")
    assert system_state(fleet["hb02"]) == before
