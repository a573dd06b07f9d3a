"""A deploy-rs node whose system profile is ``activate.nixos``'s wrapper (an ``activatable-…``
buildEnv of links into the toplevel, plus ``deploy-rs-activate``), as real deploy-rs flakes have it:
the profile points at the wrapper while ``/run/current-system`` points at the toplevel it links.
The deploy is idempotent, confirms the right system, and rolls back right (the fixture's wrapper has
the structure of deploy-rs' own, see tests/fixtures/real-flake/README.md)."""

import subprocess

import pytest

from fleetctl import FixtureFlake, inside, system_state
from fleet_fixtures import own_fleet, fleet_inventory
from playbook_helpers import failures, run_playbook

pytestmark = pytest.mark.integration

FAST = {"nixos_deploy_confirm_timeout": 5}


fleet = own_fleet("wrapper", 1, [], "127.0.100.11")


@pytest.fixture(scope="module")
def flake(fleet, tmp_path_factory):
    flake = FixtureFlake.create(tmp_path_factory.mktemp("wrapper-flake") / "flake", fleet, {"node01": "deploy-rs-only"})
    flake.set_host("node01", activatable=True)
    return flake


inventory = fleet_inventory("wrapper")


def wrapper_and_toplevel(flake):
    """(the node's profile path: the wrapper, the toplevel it links) as the flake evaluates them."""
    attr = '%s#deploy.nodes."node01".profiles.system.path' % flake.ref
    wrapper = subprocess.run(
        ["nix", "eval", "--raw", attr + ".outPath"], stdout=subprocess.PIPE, universal_newlines=True, check=True
    ).stdout
    toplevel = subprocess.run(
        ["nix", "eval", "--raw", attr + ".toplevel.outPath"],
        stdout=subprocess.PIPE,
        universal_newlines=True,
        check=True,
    ).stdout
    return wrapper, toplevel


def switch(run):
    return run.results("Copy and switch to the system")["node01"]


def test_a_wrapper_deploys_and_the_running_system_is_the_toplevel_it_links(fleet, flake, inventory):
    wrapper, toplevel = wrapper_and_toplevel(flake)
    assert wrapper.split("-", 1)[1].startswith("activatable-nixos-system-node01") and wrapper != toplevel
    run = run_playbook(inventory, "deploy.yml", extra_vars=FAST)
    assert run.rc == 0, failures(run)
    assert switch(run)["changed"] is True
    profile, running = system_state(fleet["node01"])
    assert inside(fleet["node01"], "readlink -f /nix/var/nix/profiles/system").strip() == wrapper
    assert (profile, running) == ("system-1-link", toplevel)
    assert (
        inside(fleet["node01"], "test -x /nix/var/nix/profiles/system/deploy-rs-activate && echo yes").strip() == "yes"
    )


def test_a_second_deploy_and_check_mode_change_nothing(fleet, flake, inventory):
    again = run_playbook(inventory, "deploy.yml", extra_vars=FAST)
    assert again.rc == 0, failures(again)
    assert switch(again)["changed"] is False and again.stats("node01")["changed"] == 0
    check = run_playbook(inventory, "deploy.yml", "--check", extra_vars=FAST)
    assert check.rc == 0 and switch(check)["changed"] is False


def test_a_new_version_switches_and_a_rollback_goes_back_to_the_first_toplevel(fleet, flake, inventory):
    first = wrapper_and_toplevel(flake)[1]
    flake.bump("node01")
    wrapper, second = wrapper_and_toplevel(flake)
    run = run_playbook(inventory, "deploy.yml", extra_vars=FAST)
    assert run.rc == 0, failures(run)
    assert switch(run)["changed"] is True and system_state(fleet["node01"]) == ("system-2-link", second)
    back = run_playbook(inventory, "rollback.yml", extra_vars=dict(FAST, nixos_rollback_generation=1))
    assert back.rc == 0, failures(back)
    assert system_state(fleet["node01"]) == ("system-1-link", first)
    # rolled back already: the same rollback again changes nothing
    again = run_playbook(inventory, "rollback.yml", extra_vars=dict(FAST, nixos_rollback_generation=1))
    assert again.rc == 0 and again.stats("node01")["changed"] == 0, failures(again)


def test_a_failing_activation_of_a_wrapper_is_rolled_back_to_the_running_toplevel(fleet, flake, inventory):
    before = system_state(fleet["node01"])
    flake.bump("node01", fail="fail")
    run = run_playbook(inventory, "deploy.yml", extra_vars=FAST)
    assert run.rc != 0
    assert system_state(fleet["node01"]) == before
    flake.set_host("node01", fail="none")
