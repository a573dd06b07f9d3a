"""The nixfleet.nixos.flake inventory plugin against real flakes and the real nix."""

import os
import subprocess

import pytest

from fleetctl import FixtureFlake
from inventory_helpers import (
    BIN,
    calls,
    group_hosts,
    hostvars,
    in_message,
    inventory_list,
    nix_counter,
    raw_hostvars,
    write_inventory,
)

pytestmark = pytest.mark.integration


def test_three_metadata_shapes_of_the_fleet_flake(session_fleet, session_flake, tmp_path):
    # The flake is a relative path, as users write it.
    inv = write_inventory(tmp_path / "fleet.flake.yml", flake=os.path.relpath(str(session_flake.path), str(tmp_path)))
    rc, data, err = inventory_list(inv)
    assert rc == 0, err
    hv = hostvars(data)
    assert sorted(hv) == ["node01", "node02", "node03", "node04"]
    n1, n2, n3 = hv["node01"], hv["node02"], hv["node03"]
    # colmena-style deployment.*
    assert (n1["ansible_host"], n1["ansible_port"], n1["ansible_user"]) == ("127.0.10.11", 2222, "root")
    assert n1["nixos_tags"] == ["web", "canary"] and n1["nixos_metadata_source"] == "colmena"
    # deploy-rs: hostname, sshUser, port out of sshOpts (["-p", "2222"])
    assert (n2["ansible_host"], n2["ansible_port"], n2["ansible_user"]) == ("127.0.10.12", 2222, "root")
    assert n2["nixos_metadata_source"] == "deploy-rs" and n2["nixos_tags"] == []
    assert "ansible_ssh_extra_args" not in n2
    # nothing: networking.hostName (fqdn throws, as on NixOS without a domain)
    assert n3["ansible_host"] == "node03" and "ansible_port" not in n3 and "ansible_user" not in n3
    assert n3["nixos_metadata_source"] == "networking"
    for name, h in hv.items():
        assert h["nixos_attr"] == 'nixosConfigurations."%s"' % name
        assert h["nixos_toplevel_attr"] == 'nixosConfigurations."%s".config.system.build.toplevel' % name
        assert h["nixos_system"] == "x86_64-linux"
        assert h["nixos_flake_source"] == "path:%s" % session_flake.path
        # locked: the copy Nix fetched into the store, which cannot change under the play
        assert h["nixos_flake"].startswith("path:/nix/store/") and "narHash=sha256-" in h["nixos_flake"]
    assert group_hosts(data, "nixos") == ["node01", "node02", "node03", "node04"]
    assert group_hosts(data, "tag_web") == ["node01", "node04"]
    assert group_hosts(data, "tag_canary") == ["node01"]
    assert group_hosts(data, "system_x86_64_linux") == ["node01", "node02", "node03", "node04"]
    # Values print as plain JSON (what AWX imports); test_inventory_templates proves templates never run.
    assert raw_hostvars(data)["node01"]["ansible_host"] == "127.0.10.11"
    assert raw_hostvars(data)["node01"]["nixos_tags"] == ["web", "canary"]


def test_locked_ref_builds_what_the_inventory_saw(session_fleet, session_flake, tmp_path):
    flake = FixtureFlake.from_specs(tmp_path / "f", {"a": {"address": "127.0.0.5", "shape": "colmena"}})
    inv = write_inventory(tmp_path / "a.flake.yml", flake=str(flake.path))
    data = inventory_list(inv)[1]
    locked = hostvars(data)["a"]["nixos_flake"]
    flake.set_host("a", version="2")  # edited after the inventory was read
    out = subprocess.run(
        ["nix", "eval", "--raw", "%s#nixosConfigurations.a.config.system.nixos.version" % locked],
        stdout=subprocess.PIPE,
        universal_newlines=True,
        check=True,
    ).stdout
    assert out == "1"


def test_deploy_rs_only_nodes_and_ssh_opts(tmp_path):
    flake = FixtureFlake.from_specs(
        tmp_path / "f",
        {
            "solo": {"address": "10.1.2.3", "port": 2200, "user": "deployer", "shape": "deploy-rs-only"},
            "both": {"address": "10.1.2.4", "port": 22, "shape": "deploy-rs"},
        },
    )
    rc, data, err = inventory_list(write_inventory(tmp_path / "d.flake.yml", flake=str(flake.path)))
    assert rc == 0, err
    solo = hostvars(data)["solo"]
    assert (solo["ansible_host"], solo["ansible_port"], solo["ansible_user"]) == ("10.1.2.3", 2200, "deployer")
    assert solo["nixos_attr"] == 'deploy.nodes."solo"'
    assert solo["nixos_toplevel_attr"] == 'deploy.nodes."solo".profiles.system.path'
    assert solo["nixos_system"] is None
    assert group_hosts(data, "nixos") == ["both", "solo"]


def test_100_hosts_cost_one_listing_and_a_chunk_per_worker(tmp_path):
    specs = {}
    for i in range(100):
        shape = ("colmena", "deploy-rs", "plain", "deploy-rs-only")[i % 4]
        specs["host%03d" % i] = {
            "address": "127.1.0.%d" % (i + 1),
            "port": 22,
            "shape": shape,
            "tags": ["t%d" % (i % 3)],
        }
    flake = FixtureFlake.from_specs(tmp_path / "f", specs)
    log = nix_counter(tmp_path / "bin")
    inventory = write_inventory(tmp_path / "big.flake.yml", flake=str(flake.path), eval_workers=2)
    rc, data, err = inventory_list(inventory, tmp_path / "bin")
    assert rc == 0, err
    assert len(hostvars(data)) == 100
    assert hostvars(data)["host099"]["ansible_host"] == "127.1.0.100"
    # the listing with the first 3 hosts (measured: a fixture host costs little), then the other 97 in
    # two processes at once; none reads a toplevel
    assert len(calls(log)) == 3, calls(log)
    assert all(c.startswith("eval ") and "toplevel" not in c for c in calls(log))
    assert "genList" in calls(log)[0] and sum('"host0' in c or '"host1' in c for c in calls(log)[1:]) == 2


def _cached_inventory(tmp_path, flake_ref):
    return write_inventory(
        tmp_path / "c.flake.yml",
        flake=flake_ref,
        cache=True,
        cache_plugin="ansible.builtin.jsonfile",
        cache_connection=str(tmp_path / "cache"),
    )


def test_cache_serves_unchanged_flake_without_nix_and_invalidates_on_edit(tmp_path):
    flake = FixtureFlake.from_specs(tmp_path / "f", {"a": {"address": "127.0.0.5", "shape": "colmena"}})
    inv = _cached_inventory(tmp_path, str(flake.path))
    log = nix_counter(tmp_path / "bin")
    first = inventory_list(inv, tmp_path / "bin")[1]
    assert len(calls(log)) == 1
    second = inventory_list(inv, tmp_path / "bin")[1]
    assert len(calls(log)) == 1, "a cached parse of an unchanged flake ran nix"
    assert hostvars(second) == hostvars(first)
    flake.set_host("a", address="127.0.0.6")
    third = inventory_list(inv, tmp_path / "bin")[1]
    assert len(calls(log)) == 2
    assert hostvars(third)["a"]["ansible_host"] == "127.0.0.6"


def _git(repo, *args):
    subprocess.run(
        ["git", "-C", str(repo)] + list(args),
        check=True,
        stdout=subprocess.DEVNULL,
        env=dict(
            os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t"
        ),
    )


def test_cache_key_follows_git_commits_and_dirty_trees(tmp_path):
    repo = tmp_path / "repo"
    flake = FixtureFlake.from_specs(repo / "infra", {"a": {"address": "127.0.0.5", "shape": "colmena"}})
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "one")
    rev = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], stdout=subprocess.PIPE, universal_newlines=True, check=False
    ).stdout.strip()
    inv = _cached_inventory(tmp_path, "repo/infra")
    log = nix_counter(tmp_path / "bin")
    a = hostvars(inventory_list(inv, tmp_path / "bin")[1])["a"]
    assert a["nixos_flake_source"] == "git+file://%s?dir=infra" % repo
    assert a["nixos_flake"] == "git+file://%s?dir=infra&rev=%s" % (repo, rev)
    inventory_list(inv, tmp_path / "bin")
    assert len(calls(log)) == 1
    flake.set_host("a", address="127.0.0.7")  # dirty tree
    dirty = hostvars(inventory_list(inv, tmp_path / "bin")[1])["a"]
    assert len(calls(log)) == 2 and dirty["ansible_host"] == "127.0.0.7"
    assert dirty["nixos_flake"].startswith("path:/nix/store/") and dirty["nixos_flake"].endswith("/infra")
    (repo / "untracked.txt").write_text("nix does not see untracked files")
    inventory_list(inv, tmp_path / "bin")
    assert len(calls(log)) == 2
    _git(repo, "commit", "-qam", "two")
    committed = hostvars(inventory_list(inv, tmp_path / "bin")[1])["a"]
    assert len(calls(log)) == 3 and "rev=" in committed["nixos_flake"]


def test_broken_host_is_listed_with_its_error_and_others_survive(tmp_path):
    flake = FixtureFlake.from_specs(
        tmp_path / "f",
        {
            "good": {"address": "127.0.0.5", "shape": "colmena"},
            "bad": {"address": "127.0.0.6", "shape": "broken"},
        },
    )
    rc, data, err = inventory_list(write_inventory(tmp_path / "b.flake.yml", flake=str(flake.path)))
    assert rc == 0, err
    hv = hostvars(data)
    assert hv["good"]["ansible_host"] == "127.0.0.5"
    assert group_hosts(data, "nixos_eval_failed") == ["bad"]
    assert "the configuration of bad does not evaluate" in hv["bad"]["nixos_eval_error"]
    assert "ansible_host" not in hv["bad"]
    assert in_message("host bad is listed without metadata", err)
    assert in_message("the configuration of bad does not evaluate", err)


def test_error_outside_tryeval_breaks_one_host_only(tmp_path):
    flake = FixtureFlake.from_specs(
        tmp_path / "f",
        {
            "good": {"address": "127.0.0.5", "shape": "deploy-rs"},
            "typo": {"address": "127.0.0.6", "shape": "type-error"},
        },
    )
    rc, data, err = inventory_list(write_inventory(tmp_path / "t.flake.yml", flake=str(flake.path)))
    assert rc == 0, err
    hv = hostvars(data)
    assert hv["good"]["ansible_host"] == "127.0.0.5" and hv["good"]["nixos_metadata_source"] == "deploy-rs"
    assert "cannot add a string to an integer" in hv["typo"]["nixos_eval_error"]
    assert in_message("typo", err)


def test_host_filter_globs_skip_other_hosts(tmp_path):
    flake = FixtureFlake.from_specs(
        tmp_path / "f",
        {
            "web-01": {"shape": "colmena"},
            "web-02": {"shape": "deploy-rs"},
            "db-01": {"shape": "plain"},
            "web-broken": {"shape": "broken"},
        },
    )
    inv = write_inventory(tmp_path / "w.flake.yml", flake=str(flake.path), host_filter=["web-0?", "db-*"])
    rc, data, err = inventory_list(inv)
    assert rc == 0, err
    assert sorted(hostvars(data)) == ["db-01", "web-01", "web-02"]
    assert "web-broken" not in err


def test_compose_groups_keyed_groups_and_strict(tmp_path):
    flake = FixtureFlake.from_specs(
        tmp_path / "f", {"a": {"shape": "plain"}, "b": {"shape": "colmena", "tags": ["db"]}}
    )
    inv = write_inventory(
        tmp_path / "k.flake.yml",
        flake=str(flake.path),
        compose={"ansible_host": "inventory_hostname ~ '.example.internal'"},
        groups={"databases": "'db' in nixos_tags"},
        keyed_groups=[{"key": "nixos_metadata_source", "prefix": "via"}],
    )
    rc, data, err = inventory_list(inv)
    assert rc == 0, err
    assert hostvars(data)["a"]["ansible_host"] == "a.example.internal"
    assert group_hosts(data, "databases") == ["b"]
    assert group_hosts(data, "via_colmena") == ["b"] and group_hosts(data, "via_networking") == ["a"]
    strict = write_inventory(
        tmp_path / "s.flake.yml", flake=str(flake.path), strict=True, compose={"x": "no_such_variable.attr"}
    )
    rc, _out, err = inventory_list(strict)
    assert rc != 0 and "no_such_variable" in err


def test_input_flags_read_through_installables(tmp_path):
    flake = FixtureFlake.from_specs(
        tmp_path / "f",
        {
            "a": {"shape": "colmena", "address": "127.0.0.9"},
            "n": {"shape": "deploy-rs-only", "address": "127.0.0.8"},
            "h": {"shape": "colmena-hive", "address": "127.0.0.7"},
        },
    )
    log = nix_counter(tmp_path / "bin")
    inv = write_inventory(
        tmp_path / "o.flake.yml", flake=str(flake.path), nix_args=["--recreate-lock-file", "--no-write-lock-file"]
    )
    rc, data, err = inventory_list(inv, tmp_path / "bin")
    assert rc == 0, err
    hv = hostvars(data)
    assert hv["a"]["ansible_host"] == "127.0.0.9" and hv["n"]["ansible_host"] == "127.0.0.8"
    assert hv["h"]["ansible_host"] == "127.0.0.7" and hv["h"]["nixos_attr"] == 'colmenaHive.nodes."h"'
    # #nixosConfigurations, #deploy and #colmenaHive
    assert len(calls(log)) == 3
    assert all("--recreate-lock-file" in c for c in calls(log))


def test_bad_flakes_give_nix_errors(tmp_path):
    missing = write_inventory(tmp_path / "m.flake.yml", flake=str(tmp_path / "nowhere"))
    rc, _out, err = inventory_list(missing)
    assert rc != 0
    assert in_message("cannot read the hosts of path:%s" % (tmp_path / "nowhere"), err)
    # Nix's own reason, in each Nix's words (2.8: errno text; 2.34: "path '…/nowhere' does not exist").
    assert in_message("No such file or directory", err) or in_message("nowhere' does not exist", err), err
    flake = FixtureFlake.from_specs(tmp_path / "f", {"a": {"shape": "plain"}})
    (flake.path / "flake.nix").write_text("{ outputs = { self }: { nixosConfigurations = ; }; }")
    rc, _out, err = inventory_list(write_inventory(tmp_path / "s.flake.yml", flake=str(flake.path)))
    assert rc != 0 and "syntax error" in err


def test_missing_nix_says_how_to_install(tmp_path):
    flake = FixtureFlake.from_specs(tmp_path / "f", {"a": {"shape": "plain"}})
    inv = write_inventory(tmp_path / "n.flake.yml", flake=str(flake.path), nix_binary="/nonexistent/bin/nix")
    rc, _out, err = inventory_list(inv)
    assert rc != 0 and in_message("apt-get install nix-bin", err)


def test_file_names_the_plugin_accepts(tmp_path):
    flake = FixtureFlake.from_specs(tmp_path / "f", {"a": {"shape": "plain"}})
    assert inventory_list(write_inventory(tmp_path / "prod.flake.yaml", flake=str(flake.path)))[0] == 0
    rc, _out, err = inventory_list(write_inventory(tmp_path / "prod.yml", flake=str(flake.path)))
    assert rc != 0  # not a *flake.yml file: no plugin accepts it


def test_ansible_doc_renders():
    out = subprocess.run(
        [os.path.join(BIN, "ansible-doc"), "-t", "inventory", "nixfleet.nixos.flake"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "host_filter" in out.stdout and "nix_args" in out.stdout and "keyed_groups" in out.stdout
