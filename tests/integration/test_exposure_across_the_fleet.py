"""Package exposure across the fleet (playbooks/exposure.yml, module exposure): which hosts have
openssl older than 3.0.14 in their running system, their booted one and each kept generation, and the
chain that pulls it in, checked against the hosts' own stores. node01 booted generation 1 (openssl
3.0.13), runs generation 2 (3.0.14) and boots generation 3 next (3.0.12, deployed with action boot);
node02 (no Python) has 3.0.14 only."""

import json

import pytest

from fleetctl import FixtureFlake, inside
from fleet_fixtures import own_fleet
from playbook_helpers import failures, run_playbook, run_playbook_text, write_fleet_inventory

pytestmark = pytest.mark.integration

CURL = {"version": "8.5.0", "uses": ["openssl"]}


fleet = own_fleet("exposure", 2, ["node02"], "127.0.90.11")


def systems(host):
    """{generation: store path} of the host's system profile, as the host's links say."""
    out = inside(host, 'for l in /nix/var/nix/profiles/system-*-link; do echo "${l##*/} $(readlink $l)"; done')
    return {int(name.split("-")[1]): path for name, path in (line.split() for line in out.splitlines())}


def references(host, path):
    return set(inside(host, "nix-store -q --references %s" % path).split())


@pytest.fixture(scope="module")
def generations(fleet, tmp_path_factory):
    """Three generations on node01, one on node02; node01 booted its first and runs its second."""
    flake = FixtureFlake.create(tmp_path_factory.mktemp("exposure-flake") / "flake", fleet, {"node01": "colmena"})
    flake.set_host("node01", libs={"openssl": "3.0.13", "curl": CURL}, apps=["curl"])
    flake.set_host("node02", libs={"openssl": "3.0.14"})
    inventory = write_fleet_inventory(tmp_path_factory.mktemp("exposure-inventory"), fleet, flake)
    deploy = {"nixos_deploy_confirm_timeout": 5}
    run = run_playbook(inventory, "deploy.yml", extra_vars=deploy)
    assert run.rc == 0, failures(run)
    node01 = fleet["node01"]
    inside(node01, "ln -sfn $(readlink /run/current-system) /run/booted-system")  # it booted generation 1
    flake.set_host("node01", version="2", libs={"openssl": "3.0.14", "curl": CURL})
    run = run_playbook(inventory, "deploy.yml", extra_vars=deploy, limit="node01")
    assert run.rc == 0, failures(run)
    flake.set_host("node01", version="3", libs={"openssl": "3.0.12", "curl": CURL})
    run = run_playbook(inventory, "deploy.yml", extra_vars=dict(deploy, nixos_deploy_action="boot"), limit="node01")
    assert run.rc == 0, failures(run)
    return inventory, systems(node01)


def test_exposure_in_the_running_booted_and_kept_systems_with_why(fleet, generations, tmp_path):
    inventory, gens = generations
    node01 = fleet["node01"]
    assert sorted(gens) == [1, 2, 3]
    assert inside(node01, "readlink /run/current-system").strip() == gens[2]
    assert inside(node01, "readlink /run/booted-system").strip() == gens[1]
    run = run_playbook(
        inventory,
        "exposure.yml",
        extra_vars={
            "nixos_exposure_package": "openssl",
            "nixos_exposure_version": "<3.0.14",
            "nixos_exposure_report_dir": str(tmp_path / "reports"),
        },
    )
    assert run.rc == 0, failures(run)
    found = run.results("find the package")
    one = found["node01"]
    assert [(s["path"], s["roles"], s["versions"], s["exposed"]) for s in one["systems"]] == [
        (gens[2], ["running", "generation 2"], ["3.0.14"], False),
        (gens[1], ["booted", "generation 1"], ["3.0.13"], True),
        (gens[3], ["generation 3 (current)"], ["3.0.12"], True),
    ]
    assert (one["running_exposed"], one["booted_exposed"], one["exposed_generations"]) == (False, True, [1, 3])
    for system in one["systems"][1:]:
        (match,) = system["matches"]
        chain = match["chain"]
        # system -> fleet-apps-node01 -> curl-8.5.0 -> openssl (the fixture's libraries), each a reference on the host
        assert [p.split("-", 1)[1] for p in chain] == [
            system["path"].split("-", 1)[1],
            "fleet-apps-node01",
            "curl-8.5.0",
            "openssl-%s" % system["versions"][0],
        ]
        assert all(b in references(node01, a) for a, b in zip(chain, chain[1:]))
        assert inside(node01, "cat %s/lib/VERSION" % match["path"]).strip() == "openssl " + system["versions"][0]
    two = found["node02"]
    assert [(s["roles"], s["versions"], s["exposed"]) for s in two["systems"]] == [
        (["running", "generation 1 (current)"], ["3.0.14"], False)
    ]
    # the report: terminal table, JSON and Markdown files, the AWX artifacts
    shown = "\n".join(run.results("Show the exposure")["node01"]["msg"])
    assert "openssl <3.0.14 in the booted system on 1 of 2 hosts: node01" in shown
    assert "openssl <3.0.14 after the next boot (the profile's current generation) on 1 of 2 hosts: node01" in shown
    assert "running now" not in shown
    written = json.loads((tmp_path / "reports" / "exposure-report.json").read_text())
    assert [r["host"] for r in written] == ["node01", "node02"] and written[0]["systems"] == one["systems"]
    assert "| node01 |" in (tmp_path / "reports" / "exposure-report.md").read_text()
    assert run.data["custom"]["_run"]["nixos_exposure"] == written
    for host in fleet.hosts:
        assert run.stats(host.name)["changed"] == 0


def test_every_version_and_a_table_as_a_person_reads_it(fleet, generations):
    inventory, gens = generations
    rc, out = run_playbook_text(inventory, "exposure.yml", extra_vars={"nixos_exposure_package": "openssl"})
    assert rc == 0, out
    assert "HOST    SYSTEM" in out and "MATCH  WHY" in out
    lines = [line for line in out.splitlines() if "node01" in line and "running, generation 2" in line]
    assert len(lines) == 1 and "3.0.14" in lines[0] and "YES" in lines[0]
    assert "nixos-system-node01-2 → fleet-apps-node01 → curl-8.5.0 → openssl-3.0.14" in lines[0]
    assert "openssl running now on 2 of 2 hosts: node01, node02" in out


def test_from_the_sboms_without_contacting_the_hosts(fleet, generations, tmp_path):
    inventory, gens = generations
    run = run_playbook(inventory, "sbom.yml", extra_vars={"nixos_sbom_dir": str(tmp_path)})
    assert run.rc == 0, failures(run)
    blocked = tmp_path / "blocked"  # an inventory whose hosts cannot be reached at all
    blocked.mkdir()
    (blocked / "hosts.yml").write_text(
        json.dumps(
            {
                "all": {
                    "children": {
                        "nixos": {
                            "hosts": {h.name: {"ansible_host": "127.0.99.250", "ansible_port": 9} for h in fleet.hosts}
                        }
                    }
                }
            }
        )
    )
    run = run_playbook(
        blocked / "hosts.yml",
        "exposure.yml",
        extra_vars={"nixos_exposure_package": "openssl<=3.0.14", "nixos_exposure_sbom_dir": str(tmp_path)},
    )
    assert run.rc == 0, failures(run)
    found = run.results("find the package")
    assert [(s["path"], s["roles"], s["versions"]) for s in found["node01"]["systems"]] == [
        (gens[2], ["sbom"], ["3.0.14"])
    ]
    assert found["node01"]["source"] == "sbom" and found["node01"]["systems"][0]["exposed"]
    assert found["node01"]["systems"][0]["matches"][0]["chain"][-1].endswith("-openssl-3.0.14")


def test_a_host_that_cannot_be_read_is_reported_and_fails(fleet, generations, tmp_path):
    inventory, _gens = generations
    run = run_playbook(
        inventory,
        "exposure.yml",
        extra_vars={
            "nixos_exposure_package": "openssl",
            "nixos_exposure_profile": "/nix/var/nix/profiles/none",
            "nixos_exposure_sbom_dir": str(tmp_path / "no-such-dir"),
        },
    )
    assert run.rc != 0
    report = run.results("Report the fleet's exposure")["node01"]
    assert report["failed_hosts"] == ["node01", "node02"]
    assert "no-such-dir/node01.cdx.json failed" in report["report"][0]["error"]
    assert run.stats("node01")["failures"] == 1


def test_bad_constraints_are_refused_naming_the_option(fleet, generations):
    inventory, _gens = generations
    run = run_playbook(
        inventory, "exposure.yml", extra_vars={"nixos_exposure_package": "openssl", "nixos_exposure_version": "3.0.14"}
    )
    assert run.rc != 0
    msg = run.results("find the package")["node01"]["msg"]
    assert "package version '3.0.14': each clause is an operator" in msg
