"""Real NixOS configurations (tests/fixtures/real-flake, built from the real nixpkgs of ../shared/nixpkgs):
every flake shape read right, the build's evaluation as Nix's own, specialisations and inhibitors where
the deploy reads them, evaluation in bounded memory, and the clear error of a Nix too old for it.

Nothing here is built or deployed (a real toplevel needs the bootstrap seed from the internet); the
deploy of such systems is proven on the fixture flake. The real_nixpkgs tests need a controller Nix
2.18 or newer (tests/integration/real_nix.py), the old_nix ones an older one."""

import json
import subprocess
import sys

import pytest

from fleetctl import ROOT
from inventory_helpers import group_hosts, hostvars, inventory_list, write_inventory
from nix_meter import metered_nix, peak_together, processes
from playbook_helpers import run_task
from real_nix import real_nix

sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "real-flake"))
import generate  # noqa: E402  (the real fixture's generator)

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generation_commands import SPECIALISATION_DIR  # noqa: E402
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.switch_inhibitors import INHIBITORS_FILE  # noqa: E402

pytestmark = pytest.mark.integration
HOMELAB = ["app", "broken", "db", "web"]
KEYS = ["api-token", "app-env", "tls-key"]
SECRETS = ("FIXTURE_SECRET_TEXT", "do-not-print")  # the text of a colmena key of every host


def flake_of(tmp_path_factory, mode, hosts=None):
    return generate.generate(tmp_path_factory.mktemp("real-" + mode) / "flake", mode, hosts)


def inventory_of(flake, **options):
    return write_inventory(flake.parent / "real.flake.yml", flake=str(flake), nix_binary=real_nix() or "nix", **options)


def nix_eval_raw(flake, attr):
    """``nix eval --raw`` of one attribute, alone (what Nix itself says)."""
    return subprocess.run(
        [real_nix(), "eval", "--raw", "path:%s#%s" % (flake, attr)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        universal_newlines=True,
        check=True,
    ).stdout


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """nixosConfigurations + colmenaHive (makeHive) + deploy.nodes of web, db, app and broken."""
    return flake_of(tmp_path_factory, "full")


@pytest.mark.real_nixpkgs
def test_every_host_var_of_a_real_homelab_flake(full):
    rc, data, err = inventory_list(inventory_of(full))
    assert rc == 0, err
    hv = hostvars(data)
    assert sorted(hv) == HOMELAB and group_hosts(data, "nixos") == HOMELAB
    # built from nixosConfigurations; addressed as the colmena hive says (targetHost, targetUser deploy)
    for index, name in enumerate(["web", "db", "app", "broken"]):
        host = hv[name]
        assert host["nixos_toplevel_attr"] == 'nixosConfigurations."%s".config.system.build.toplevel' % name
        assert (host["ansible_host"], host["ansible_port"], host["ansible_user"]) == (
            generate.address(index),
            22,
            "deploy",
        )
        assert (host["ansible_become"], host["ansible_become_user"]) == (True, "root")
        assert host["nixos_system"] == "x86_64-linux" and host["nixos_metadata_source"] == "colmena"
        assert host["nixos_colmena_keys"] == KEYS  # names only
        assert host["nixos_deploy_rs_profiles"] == [
            {
                "name": "hello",
                "attr": 'deploy.nodes."%s".profiles."hello".path' % name,
                "user": "deploy",
                "profile_path": "/nix/var/nix/profiles/per-user/deploy/hello",
            }
        ]
        assert "nixos_eval_error" not in host  # broken fails its assertion only when its system is built
    assert group_hosts(data, "tag_web") == ["app", "web"] and group_hosts(data, "tag_db") == ["app", "broken", "db"]
    assert hv["app"]["nixos_deploy_build_on"] == "target" and hv["web"]["nixos_deploy_build_on"] == "controller"
    # where sops-nix expects each host's age identity, as its configuration declares it
    assert (hv["web"]["nixos_sops_age_key_file"], hv["db"]["nixos_sops_age_key_file"]) == (
        "/var/lib/sops-nix/key.txt",
        None,
    )
    assert hv["db"]["nixos_sops_age_ssh_key_paths"] == ["/persist/ssh/ssh_host_ed25519_key"]
    assert hv["app"]["nixos_sops_age_ssh_key_paths"] == ["/etc/ssh/ssh_host_ed25519_key"]  # sops-nix's default
    assert "WARNING" not in err, err
    assert not any(secret in json.dumps(data) for secret in SECRETS)


@pytest.mark.real_nixpkgs
def test_a_flake_with_only_a_colmena_hive_or_only_deploy_rs_nodes(tmp_path_factory):
    hive = hostvars(inventory_list(inventory_of(flake_of(tmp_path_factory, "colmena-hive")))[1])
    assert sorted(hive) == HOMELAB
    assert hive["web"]["nixos_attr"] == 'colmenaHive.nodes."web"' and hive["web"]["nixos_tags"] == ["web"]
    assert hive["db"]["ansible_host"] == generate.address(1) and hive["db"]["nixos_colmena_keys"] == KEYS
    nodes = hostvars(inventory_list(inventory_of(flake_of(tmp_path_factory, "deploy-rs")))[1])
    assert sorted(nodes) == HOMELAB
    # deploy-rs' activate.nixos: the profile path is its activatable-… wrapper (the switch reads the toplevel)
    assert nodes["web"]["nixos_toplevel_attr"] == 'deploy.nodes."web".profiles.system.path'
    assert (nodes["web"]["ansible_user"], nodes["web"]["ansible_become_user"]) == ("deploy", "root")
    assert nodes["web"]["nixos_metadata_source"] == "deploy-rs" and nodes["web"]["ansible_port"] == 22


@pytest.mark.real_nixpkgs
def test_a_raw_colmena_output_is_read_through_the_flakes_colmena_input(tmp_path_factory):
    raw = flake_of(tmp_path_factory, "colmena-raw")
    rc, data, err = inventory_list(inventory_of(raw))
    assert rc == 0, err
    hv = hostvars(data)
    assert sorted(hv) == HOMELAB and hv["app"]["nixos_tags"] == ["web", "db"]
    assert hv["web"]["nixos_toplevel_attr"] == 'colmenaHive.nodes."web".config.system.build.toplevel'
    # what the build evaluates for it is what colmena's own makeHive gives
    expected = subprocess.run(
        [
            real_nix(),
            "eval",
            "--impure",
            "--raw",
            "--expr",
            'let f = builtins.getFlake "path:%s"; in (f.inputs.colmena.lib.makeHive f.colmena).nodes.db'
            ".config.system.build.toplevel.drvPath" % raw,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        universal_newlines=True,
        check=True,
    ).stdout
    run = run_task(
        inventory_of(raw), "db", "nixfleet.nixos.build", {"nix_binary": real_nix()}, "--check", run_once=True
    )
    assert run.rc == 0 and run.results("task under test")["db"]["drv_paths"] == {"db": expected}


@pytest.mark.real_nixpkgs
def test_a_raw_colmena_output_without_a_colmena_input_is_named_with_the_line_to_add(tmp_path_factory):
    flake = flake_of(tmp_path_factory, "colmena-raw-no-input")
    rc, data, err = inventory_list(inventory_of(flake))
    assert rc == 0, err
    assert hostvars(data) == {}
    assert "has a raw `colmena` output (colmena 0.4)" in err
    assert "colmenaHive = colmena.lib.makeHive self.colmena;" in err


@pytest.mark.real_nixpkgs
def test_the_build_evaluates_each_host_as_nix_alone_and_fails_only_the_broken_one(full):
    inventory = inventory_of(full)
    run = run_task(inventory, "all", "nixfleet.nixos.build", {"nix_binary": real_nix()}, "--check", run_once=True)
    result = list(run.results("task under test").values())[0]
    assert sorted(result["paths"]) == ["app", "db", "web"]
    assert "Failed assertions" in result["failed_hosts"]["broken"]
    assert (
        "Exactly one of users.users.broken.isSystemUser and users.users.broken.isNormalUser"
        in result["failed_hosts"]["broken"]
    )
    for host in ("db", "app"):
        alone = nix_eval_raw(full, 'nixosConfigurations."%s".config.system.build.toplevel.drvPath' % host)
        assert result["drv_paths"][host] == alone
    # the evaluation cache: the same check again evaluates nothing
    again = list(
        run_task(inventory, "all", "nixfleet.nixos.build", {"nix_binary": real_nix()}, "--check", run_once=True)
        .results("task under test")
        .values()
    )[0]
    # (each host's deploy-rs profile "hello" is evaluated with the systems, and remembered too)
    assert again["evaluations_cached"] == ["app", "app\nhello", "broken\nhello", "db", "db\nhello", "web", "web\nhello"]
    # only broken, which failed: in a chunk of its own, then alone for Nix's message
    assert [c for c in again["nix_calls"] if c.startswith("eval")] == ["eval", "eval broken"]
    assert again["evaluation"]["chunk_sizes"] == [1] and "Failed assertions" in again["failed_hosts"]["broken"]
    assert again["drv_paths"] == result["drv_paths"]


@pytest.mark.real_nixpkgs
def test_specialisations_and_switch_inhibitors_are_where_the_deploy_reads_them(full):
    """What the toplevel's builder writes (NixOS' own systemBuilderCommands) names the files the switch's
    probe reads: PATH/specialisation/NAME (a toplevel) and PATH/switch-inhibitors."""
    web = 'nixosConfigurations."web".config'
    builder = nix_eval_raw(full, web + ".system.systemBuilderCommands")
    special = nix_eval_raw(full, web + ".specialisation.maintenance.configuration.system.build.toplevel.outPath")
    names = subprocess.run(
        [real_nix(), "eval", "--json", "path:%s#%s.specialisation" % (full, web), "--apply", "builtins.attrNames"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        universal_newlines=True,
        check=True,
    ).stdout
    assert json.loads(names) == ["maintenance"]
    assert "ln -s %s $out/%s/maintenance" % (special, SPECIALISATION_DIR) in builder
    assert "$out/%s\n" % INHIBITORS_FILE in builder
    db_inhibitors = subprocess.run(
        [real_nix(), "eval", "--json", 'path:%s#nixosConfigurations."db".config.system.switch.inhibitors' % full],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        universal_newlines=True,
        check=True,
    ).stdout
    assert "postgresql" in json.loads(db_inhibitors)


@pytest.mark.real_nixpkgs
def test_the_inventory_of_real_hosts_stays_within_its_memory_budget(tmp_path_factory, tmp_path):
    """Six real hosts read by two processes at once within 1200 MiB: what every nix process held, measured
    by the kernel (a metered nix), stays within it; each host is read once."""
    flake = flake_of(tmp_path_factory, "full", generate.scale_hosts(6))
    shim, log = metered_nix(tmp_path / "bin", real_nix(), sys.executable)
    inventory = write_inventory(
        flake.parent / "scale.flake.yml",
        flake=str(flake),
        nix_binary=str(shim),
        eval_memory_budget=1200,
        eval_workers=2,
    )
    rc, data, err = inventory_list(inventory)
    assert rc == 0, err
    assert sorted(hostvars(data)) == ["host-%03d" % i for i in range(1, 7)]
    assert len(processes(log)) > 2  # chunked: not one process for every host
    assert 0 < peak_together(log) <= 1200 * 2**20, processes(log)
    # a budget one host alone exceeds: each host read alone, and named
    small = write_inventory(
        flake.parent / "small.flake.yml",
        flake=str(flake),
        nix_binary=real_nix(),
        eval_memory_budget=64,
        eval_workers=2,
        host_filter=["host-00[12]"],
    )
    rc, data, err = inventory_list(small)
    assert rc == 0 and sorted(hostvars(data)) == ["host-001", "host-002"], err
    for host in ("host-001", "host-002"):
        assert "host %s alone needed" % host in err and "more than the evaluation memory budget (64 MiB)" in err


@pytest.mark.old_nix
def test_a_nix_too_old_for_the_nixpkgs_is_one_clear_error(full):
    rc, _data, err = inventory_list(inventory_of(full))
    assert rc != 0
    # one error of ours (Ansible prints a plugin's failure twice: its warning, then "caused by"),
    # not one per host
    ours = err.count("the flake's nixpkgs needs a newer Nix than the controller's (Nix 2.")
    assert ours >= 1 and ours == err.count("nixfleet.nixos.flake: cannot read the hosts of"), err
    assert "listed without metadata" not in err and "does not evaluate" not in err
    assert "reports at least 2.18" in err and "Install Nix 2.18 or newer on the controller" in err
