"""SBOMs of deployed hosts (playbooks/sbom.yml, the deploy role's nixos_deploy_sbom_dir), validated
against the CycloneDX 1.6 schema by cyclonedx-python-lib, and checked against the store's own
closure and references."""

import hashlib
import json

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from fleetctl import FixtureFlake, inside
from fleet_fixtures import own_fleet
from playbook_helpers import failures, run_playbook, write_fleet_inventory

from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli

pytestmark = pytest.mark.integration

SHAPES = {"node01": "colmena", "node02": "deploy-rs"}


fleet = own_fleet("sbom", 2, ["node02"], "127.0.24.11")


@pytest.fixture(scope="module")
def inventory(fleet, tmp_path_factory):
    flake = FixtureFlake.create(tmp_path_factory.mktemp("sbom-flake") / "flake", fleet, SHAPES)
    inv = write_fleet_inventory(tmp_path_factory.mktemp("sbom-inventory"), fleet, flake)
    deployed = run_playbook(inv, "deploy.yml", extra_vars={"nixos_deploy_confirm_timeout": 5})
    assert deployed.rc == 0, failures(deployed)
    return inv


def closure(path):
    """Every path of the closure and its references, as the controller's Nix says."""
    return {
        p: sorted(r for r in (i or {})["references"] if r != p)
        for p, i in NixCli().path_info([path], recursive=True).items()
    }


def test_an_sbom_per_host_validates_and_matches_the_closure(fleet, inventory, tmp_path):
    run = run_playbook(inventory, "sbom.yml", extra_vars={"nixos_sbom_dir": str(tmp_path)})
    assert run.rc == 0, failures(run)
    for host in fleet.hosts:
        text = (tmp_path / ("%s.cdx.json" % host.name)).read_text()
        assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
        bom = json.loads(text)
        system = inside(host, "readlink /run/current-system").strip()
        assert bom["metadata"]["component"]["bom-ref"] == system
        expected = closure(system)
        assert sorted([system] + [c["bom-ref"] for c in bom["components"]]) == sorted(expected)
        assert {d["ref"]: d["dependsOn"] for d in bom["dependencies"]} == expected
        assert {"name": "nixfleet:host", "value": host.name} in bom["metadata"]["component"]["properties"]
        base = [c for c in bom["components"] if c["name"] == "nixfleet-base"]
        assert [(c["version"], c["purl"]) for c in base] == [("1", "pkg:nix/nixfleet-base@1")]
        assert run.results("Write the SBOM")[host.name]["components"] == len(expected)
        # From the derivations on the controller: the fixture kernel's fixed-output source.
        (kernel,) = [c for c in bom["components"] if c["name"] == "linux"]
        assert kernel["externalReferences"] == [
            {
                "type": "source-distribution",
                "url": "https://cdn.kernel.org/pub/linux/kernel/v6.x/linux-6.6.1.tar.xz",
                "hashes": [{"alg": "SHA-256", "content": hashlib.sha256(b"fixture kernel source 6.6.1\n").hexdigest()}],
            }
        ]
        assert run.results("Write the SBOM")[host.name]["with_sources"] == 1


def test_a_second_run_and_check_mode_write_nothing(fleet, inventory, tmp_path):
    first = run_playbook(inventory, "sbom.yml", extra_vars={"nixos_sbom_dir": str(tmp_path / "a")})
    assert first.rc == 0 and all(first.stats(h.name)["changed"] == 1 for h in fleet.hosts)
    again = run_playbook(inventory, "sbom.yml", extra_vars={"nixos_sbom_dir": str(tmp_path / "a")})
    assert again.rc == 0 and all(again.stats(h.name)["changed"] == 0 for h in fleet.hosts)
    check = run_playbook(inventory, "sbom.yml", "--check", extra_vars={"nixos_sbom_dir": str(tmp_path / "b")})
    assert check.rc == 0 and all(check.stats(h.name)["changed"] == 1 for h in fleet.hosts)
    assert not (tmp_path / "b").exists()


def test_the_deploy_writes_sboms_when_asked(fleet, inventory, tmp_path):
    run = run_playbook(
        inventory, "deploy.yml", extra_vars={"nixos_deploy_sbom_dir": str(tmp_path), "nixos_deploy_confirm_timeout": 5}
    )
    assert run.rc == 0, failures(run)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["node01.cdx.json", "node02.cdx.json"]
    for host in fleet.hosts:
        assert (
            JsonStrictValidator(SchemaVersion.V1_6).validate_str((tmp_path / ("%s.cdx.json" % host.name)).read_text())
            is None
        )


def test_a_system_only_the_host_has_is_read_from_the_hosts_store(fleet, inventory, tmp_path):
    host = fleet["node02"]  # no Python
    only_there = inside(host, "echo only-on-the-host > /tmp/sbom-only && nix-store --add /tmp/sbom-only").strip()
    assert NixCli().path_info([only_there])[only_there] is None  # the controller does not have it
    play = tmp_path / "one.yml"
    play.write_text(
        "- hosts: node02\n  gather_facts: false\n  tasks:\n    - name: Write the SBOM\n"
        '      nixfleet.nixos.sbom: {path: "%s", dest: "%s/x.cdx.json"}\n' % (only_there, tmp_path)
    )
    run = run_playbook(inventory, str(play))
    assert run.rc == 0, failures(run)
    result = run.results("Write the SBOM")["node02"]
    assert (result["read_from"], result["components"]) == ("host", 1)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str((tmp_path / "x.cdx.json").read_text()) is None
