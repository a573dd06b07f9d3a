"""The build's evaluation cache end to end (real Nix, OpenSSH, Ansible): a redeploy of an unchanged
flake evaluates nothing and changes nothing; an edit to the flake is evaluated and deployed; with
the cache off, every deploy evaluates."""

import pytest

from fleetctl import inside
from fleet_fixtures import own_fleet, fleet_flake, fleet_inventory
from playbook_helpers import run_playbook

pytestmark = pytest.mark.integration

BUILD = "Build every host's system with one nix build"
HOSTS = ["node01", "node02"]


fleet = own_fleet("evalcache", 2, [], "127.0.44.11")
flake = fleet_flake("evalcache", {"node01": "colmena", "node02": "plain"})
inventory = fleet_inventory("evalcache")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """One cache for the module's deploys, as a controller keeps it between runs."""
    return tmp_path_factory.mktemp("evalcache-cache")


@pytest.fixture(autouse=True)
def shared_cache(cache_dir, monkeypatch):
    monkeypatch.setenv("NIXFLEET_CACHE_DIR", str(cache_dir))


def wanted(flake, host):
    """What Nix itself evaluates for ``host`` now (not what the cache says)."""
    return flake.out_path(host)


def deploy(inventory, *args):
    run = run_playbook(inventory, "deploy.yml", *args)
    assert run.rc == 0, run.stderr
    return run, list(run.results(BUILD).values())[0]


def test_the_first_deploy_evaluates_and_remembers(flake, inventory, fleet, cache_dir):
    _run, build = deploy(inventory)
    assert build["nix_calls"][0] == "eval" and build["evaluations_cached"] == []
    assert list((cache_dir / "evaluations").glob("*.json"))
    for host in HOSTS:
        assert inside(fleet[host], "readlink /run/current-system").strip() == wanted(flake, host)


def test_a_redeploy_of_the_unchanged_flake_evaluates_nothing_and_changes_nothing(inventory):
    run, build = deploy(inventory)
    # no nix eval at all: one path-info says the systems are there, and nothing else runs
    assert build["nix_calls"] == ["path-info"] and build["evaluations_cached"] == HOSTS
    assert all(run.stats(h)["changed"] == 0 for h in HOSTS)


def test_an_edited_flake_is_evaluated_again_and_its_new_system_deployed(flake, inventory, fleet):
    flake.bump("node02")
    _run, build = deploy(inventory)
    assert "eval" in build["nix_calls"] and "build" in build["nix_calls"] and build["evaluations_cached"] == []
    assert inside(fleet["node02"], "readlink /run/current-system").strip() == wanted(flake, "node02")
    assert build["paths"]["node02"] == wanted(flake, "node02")


def test_with_the_cache_off_every_deploy_evaluates(inventory):
    _run, build = deploy(inventory, "-e", "nixos_deploy_eval_cache=false")
    assert build["nix_calls"] == ["eval", "path-info"] and build["evaluations_cached"] == []
