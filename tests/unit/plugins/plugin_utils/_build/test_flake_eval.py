"""plugin_utils/_build/flake_eval.py: the inventory's hosts read by the real ``nix eval`` from the fixture
flake (tests/fixtures/flake, whose hosts.json says what each host is) and from a small flake with a
host that does not evaluate."""

import json
from pathlib import Path

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_argv import NixSettings
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.flake_eval import FlakeInventory, read_flake
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli

pytestmark = pytest.mark.host_tools
FIXTURE = Path(__file__).resolve().parents[4] / "fixtures" / "flake"
BROKEN = """{
  outputs = { self }: {
    nixosConfigurations.good = { config = { networking.hostName = "good.example.org";
                                            nixpkgs.hostPlatform.system = "x86_64-linux"; }; };
    nixosConfigurations.broken = throw "broken host: missing module";
  };
}
"""


@pytest.fixture(scope="module")
def fixture_hosts():
    return json.loads((FIXTURE / "hosts.json").read_text())["hosts"]


def test_every_host_with_its_address_port_and_tags(fixture_hosts):
    inventory = read_flake(NixCli(), "path:%s" % FIXTURE)
    assert inventory.warnings == []
    assert inventory.locked_ref.startswith("path:/nix/store/") and "narHash=sha256-" in inventory.locked_ref
    assert [h.name for h in inventory.hosts] == sorted(fixture_hosts)
    for host in inventory.hosts:
        data = fixture_hosts[host.name]
        assert host.toplevel_attr == 'nixosConfigurations."%s".config.system.build.toplevel' % host.name
        assert host.system == "x86_64-linux" and host.error is None
        if data["shape"] == "plain":  # only networking.hostName: the name is the address
            assert (host.host, host.port, host.source) == (host.name, None, "networking")
        else:
            assert (host.host, host.port, host.user, host.tags) == (
                data["address"],
                data["port"],
                data["user"],
                data["tags"],
            )
            assert host.source == data["shape"]
    assert inventory.evaluation is not None and inventory.evaluation.failed == {}


def test_a_filter_reads_only_the_hosts_it_names():
    inventory = read_flake(NixCli(), "path:%s" % FIXTURE, host_filter=["node0[12]"])
    assert [h.name for h in inventory.hosts] == ["node01", "node02"]


def test_two_workers_read_the_same(fixture_hosts):
    one = read_flake(NixCli(), "path:%s" % FIXTURE)
    two = read_flake(NixCli(), "path:%s" % FIXTURE, workers=2)
    assert two.to_dict() == one.to_dict()


def test_input_flags_read_through_installables_without_the_pool(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "flake.nix").write_text("{ outputs = { self }: { }; }\n")
    cli = NixCli(NixSettings(extra_args=("--override-input", "unused", "path:%s" % (tmp_path / "empty"))))
    assert cli.settings.changes_inputs
    inventory = read_flake(cli, "path:%s" % FIXTURE)
    assert inventory.evaluation is None and inventory.locked_ref == "path:%s" % FIXTURE
    assert [h.name for h in inventory.hosts] == ["node01", "node02", "node03"]


def test_a_host_that_does_not_evaluate_is_listed_with_nixs_message(tmp_path):
    (tmp_path / "flake.nix").write_text(BROKEN)
    inventory = read_flake(NixCli(), "path:%s" % tmp_path)
    hosts = {h.name: h for h in inventory.hosts}
    assert hosts["good"].host == "good.example.org" and hosts["good"].error is None
    assert hosts["broken"].error is not None and "broken host: missing module" in hosts["broken"].error
    assert len(inventory.warnings) == 1
    assert inventory.warnings[0].startswith(
        "nixfleet.nixos.flake: host broken is listed without metadata because "
        'nixosConfigurations."broken" does not evaluate: '
    )


def test_the_inventory_round_trips_through_its_cache_form():
    inventory = read_flake(NixCli(), "path:%s" % FIXTURE)
    again = FlakeInventory.from_dict(json.loads(json.dumps(inventory.to_dict())))
    assert again.to_dict() == inventory.to_dict() and again.hosts == inventory.hosts
