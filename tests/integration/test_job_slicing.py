"""AWX job slicing: deploy.yml run as 4 concurrent slice jobs (ansible-runner, one private data dir
each, the inventory cut the way AWX cuts it) over a fleet of 50 hosts, sharing one controller's Nix
store and evaluation cache, as slices on one execution node (or nodes sharing /nix) do.

Every build is counted by Nix itself: a ``post-build-hook`` writes each built derivation to a log."""

import subprocess
import uuid

import pytest
import yaml

from awx_slices import job_env, run_slices, slice_hosts
from fleetctl import NIX_CONFIG, ROOT, FixtureFlake
from fleet_fixtures import own_fleet
from inventory_helpers import inventory_list
import nsfleet

pytestmark = pytest.mark.integration

SIZE = 50
SLICES = 4
SWITCH = "Copy and switch to the system"
BUILD = "Build every host's system with one nix build"


fleet = own_fleet("slicing", SIZE, [], "127.0.50.11")


@pytest.fixture(scope="module")
def setup(fleet, tmp_path_factory):
    """The flake, an AWX project whose inventory source is the flake, and a post-build-hook log."""
    base = tmp_path_factory.mktemp("slicing")
    hosts = {h.name: {"address": h.address, "port": h.port, "user": h.user, "shape": "colmena"} for h in fleet.hosts}
    flake = FixtureFlake.from_specs(base / "flake", hosts, fleet.hosts[0].http_port)
    project = base / "project"
    (project / "inventories" / "group_vars").mkdir(parents=True)
    (project / "deploy.yml").write_text((ROOT / "tests" / "fixtures" / "awx-project" / "deploy.yml").read_text())
    source = project / "inventories" / "fleet.flake.yml"
    source.write_text("plugin: nixfleet.nixos.flake\nflake: %s\n" % flake.path)
    (project / "inventories" / "group_vars" / "all.yml").write_text(
        yaml.safe_dump(
            {
                "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes"
                % fleet.hosts[0].known_hosts
            }
        )
    )
    built = base / "built.log"
    hook = base / "count-builds.sh"
    hook.write_text('#!/bin/sh\n# Nix runs this after every build it makes\necho "$DRV_PATH" >> %s\n' % built)
    hook.chmod(0o755)
    return {
        "base": base,
        "flake": flake,
        "project": project,
        "source": source,
        "built": built,
        "env": job_env(NIX_CONFIG + "\npost-build-hook = %s" % hook),
        "key": open(fleet.hosts[0].private_key).read(),
    }


def fresh(flake, failing=()):
    """Every system and the package all hosts share, new and never built (``failing``: activation fails)."""
    salt = uuid.uuid4().hex[:8]
    for name, spec in flake.data["hosts"].items():
        spec.update(version=salt, fail="fail" if name in failing else "none")
    flake.data["base_version"] = salt
    flake.write()
    return salt


def stored_inventory(setup):
    """What an AWX inventory update stores for the project's source."""
    rc, stored, err = inventory_list(setup["source"], export=True)
    assert rc == 0, err
    return stored


def builds(setup):
    """The derivations Nix built since the last call (and the log emptied)."""
    log = setup["built"]
    lines = log.read_text().split() if log.exists() else []
    log.write_text("")
    return lines


def running(fleet):
    procs = {
        h.name: subprocess.Popen(
            nsfleet.exec_argv(h, ["readlink", "/run/current-system"]), stdout=subprocess.PIPE, universal_newlines=True
        )
        for h in fleet.hosts
    }
    return {name: p.communicate()[0].strip() for name, p in procs.items()}


def wanted(flake):
    out = subprocess.run(
        ["nix", "eval", "--json", "%s#toplevels" % flake.ref],
        stdout=subprocess.PIPE,
        universal_newlines=True,
        check=True,
    ).stdout
    return yaml.safe_load(out)


def test_the_slices_are_disjoint_and_cover_the_inventory_as_awx_cuts_it(setup):
    stored = stored_inventory(setup)
    names = sorted(stored["_meta"]["hostvars"])
    parts = [slice_hosts(names, k, SLICES) for k in range(1, SLICES + 1)]
    assert sorted(sum(parts, [])) == names and len(names) == SIZE
    assert [len(p) for p in parts] == [13, 13, 12, 12]
    assert parts[0][:3] == ["node01", "node05", "node09"]  # sorted by name, every 4th from the slice's number


def test_four_concurrent_slices_deploy_every_host_once_and_build_shared_closures_once(fleet, setup):
    fresh(setup["flake"])
    builds(setup)
    jobs = run_slices(setup["base"], setup["project"], stored_inventory(setup), SLICES, setup["key"], setup["env"])
    for job in jobs:
        assert job.status == "successful", (job.number, [e.get("stdout") for e in job.events][-20:])
        # each slice touched exactly its own hosts: no two slices ever ran a task on (or locked) one host
        assert job.hosts_in_events() == set(job.hosts)
        assert sorted(job.task_results(SWITCH)) == job.hosts
        assert all(r["changed"] for r in job.task_results(SWITCH).values())
        assert sorted(row["host"] for row in job.report_rows()) == job.hosts  # its report, its hosts
        assert all(row["result"] == "switched" for row in job.report_rows())
        build = list(job.task_results(BUILD).values())[0]
        assert build["nix_calls"].count("build") == 1 and sorted(build["paths"]) == job.hosts
    assert running(fleet) == wanted(setup["flake"])
    built = builds(setup)
    # Nix built every derivation once, whichever slice asked first: the shared package once, and
    # each host's system once (the slices' builds of one derivation wait for each other's lock)
    assert len(built) == len(set(built))
    assert len([d for d in built if "nixfleet-base" in d]) == 1
    assert len([d for d in built if "-nixos-system-" in d]) == SIZE, built
    setup["sliced_builds"] = len(built)


def test_one_unsliced_job_builds_exactly_as_much(fleet, setup):
    """The same work without slicing (a fresh flake again): the slices added no build."""
    fresh(setup["flake"])
    builds(setup)
    jobs = run_slices(setup["base"], setup["project"], stored_inventory(setup), 1, setup["key"], setup["env"])
    assert jobs[0].status == "successful" and jobs[0].hosts == sorted(h.name for h in fleet.hosts)
    assert running(fleet) == wanted(setup["flake"])
    assert len(builds(setup)) == setup["sliced_builds"]


def test_a_failing_host_fails_only_its_slice(fleet, setup):
    flake = setup["flake"]
    before = running(fleet)
    fresh(flake, failing=["node06"])  # slice 2: node02, node06, node10, …
    jobs = run_slices(setup["base"], setup["project"], stored_inventory(setup), SLICES, setup["key"], setup["env"])
    assert [j.status for j in jobs] == ["successful", "failed", "successful", "successful"]
    now, want = running(fleet), wanted(flake)
    assert now["node06"] == before["node06"]  # its activation failed: rolled back to the previous system
    assert {h: now[h] for h in now if h != "node06"} == {h: want[h] for h in want if h != "node06"}
    failing = jobs[1]
    failed = {
        e["event_data"]["host"]
        for e in failing.events
        if e["event"] == "runner_on_failed" and not e["event_data"].get("ignore_errors")
    }
    assert failed == {"node06"}
    rows = {row["host"]: row["result"] for row in failing.report_rows()}
    assert sorted(rows) == failing.hosts and rows["node06"] != "switched"
    assert all(result == "switched" for host, result in rows.items() if host != "node06")
