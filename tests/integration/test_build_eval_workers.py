"""The build task evaluating many hosts in parallel ``nix eval`` processes (``eval_workers``, chunks
sized by ``eval_memory_budget``), through
ansible-playbook, the flake inventory and the real Nix: every host gets the system Nix gives it alone,
and it is built. (The build needs no host: nothing here connects to one.)"""

import subprocess

import pytest

from fleetctl import FixtureFlake, path_info
from playbook_helpers import run_task

pytestmark = pytest.mark.integration

HOSTS = ["ev%02d" % i for i in range(9)]


@pytest.fixture(scope="module")
def flake(tmp_path_factory):
    specs = {name: {"shape": "plain", "eval_rounds": 1} for name in HOSTS}
    return FixtureFlake.from_specs(tmp_path_factory.mktemp("parallel-eval") / "flake", specs)


@pytest.fixture(scope="module")
def inventory(flake, tmp_path_factory):
    path = tmp_path_factory.mktemp("parallel-eval-inventory") / "fleet.flake.yml"
    path.write_text("plugin: nixfleet.nixos.flake\nflake: %s\n" % flake.path)
    return path


def build(inventory, **args):
    run = run_task(inventory, "all", "nixfleet.nixos.build", args, run_once=True)
    return run, list(run.results("task under test").values())[0]


def test_two_eval_processes_share_the_hosts_and_every_host_gets_its_own_system(flake, inventory):
    run, result = build(inventory, eval_workers=2)
    assert run.rc == 0, result
    # two hosts alone (measured), then the other seven in two processes at once
    assert result["evaluation"]["chunk_sizes"] == [2, 4, 3] and result["evaluation"]["processes"] == 3
    assert result["nix_calls"][:3] == ["eval"] * 3 and "eval" not in result["nix_calls"][3:]
    assert 0 < result["evaluation"]["peak_concurrent_rss_mib"] <= 3072
    assert sorted(result["paths"]) == HOSTS and result["failed_hosts"] == {}
    for host in HOSTS:
        alone = subprocess.run(
            ["nix", "eval", "--raw", flake.toplevel(host) + ".drvPath"],
            stdout=subprocess.PIPE,
            universal_newlines=True,
            check=True,
        ).stdout
        assert result["drv_paths"][host] == alone
        assert path_info(result["paths"][host])["narSize"] > 0  # built: valid in the controller's store
    # the largest nix process it started is reported: an evaluation holds at least its flake in memory
    assert result["nix_peak_rss_mib"] > 0


def test_one_worker_is_one_eval_and_gives_the_same_systems(inventory):
    _run, parallel = build(inventory, eval_workers=2)
    run, serial = build(inventory, eval_workers=1, eval_cache=False)
    # two hosts alone, then the other seven in one process; all built already: nothing else
    assert run.rc == 0 and serial["nix_calls"] == ["eval", "eval", "path-info"]
    assert serial["paths"] == parallel["paths"] and serial["drv_paths"] == parallel["drv_paths"]


def test_a_negative_number_of_workers_is_refused_before_anything_is_evaluated(inventory):
    run, result = build(inventory, eval_workers=-1)
    assert run.rc != 0 and "eval_workers must be 0 (one per core) or more, not -1" in result["msg"]
    run, result = build(inventory, eval_memory_budget=8)
    assert run.rc != 0 and "eval_memory_budget must be at least 64 (MiB), not 8" in result["msg"]


def test_a_small_budget_evaluates_one_host_at_a_time_and_names_none_that_fits(inventory):
    run, result = build(inventory, eval_workers=2, eval_memory_budget=64, eval_cache=False)
    assert run.rc == 0, result
    # 64 MiB hold less than one host at the 1 GiB a host assumed before a measurement: one host alone first;
    # a fixture host needs far less than 64 MiB, so the rest follow in chunks that fit, none over budget
    assert result["evaluation"]["chunk_sizes"][0] == 1 and sum(result["evaluation"]["chunk_sizes"]) == len(HOSTS)
    assert result["evaluation"]["over_budget_mib"] == {} and "warnings" not in result
    assert sorted(result["paths"]) == HOSTS
