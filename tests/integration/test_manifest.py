"""Pre-built deploys: playbooks/build.yml (CI) builds every host once, signs and pushes the systems to
a binary cache and writes a manifest; deploy.yml -e nixos_deploy_manifest=FILE then evaluates and
builds nothing. Entries that are not toplevels, unsigned, missing, or name unknown hosts are refused
before anything changes. cache01 serves the cache (real nginx); man01 pulls from it, man02 is pushed
to from it through the controller."""

import json
import subprocess

import pytest
import yaml

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_argv import FRESH_NARINFO
from fleetctl import FixtureFlake, inside, system_state, valid_on_controller
from fleet_fixtures import own_fleet
from playbook_helpers import failures, run_playbook, write_fleet_inventory, write_static_group

pytestmark = pytest.mark.integration

TARGETS = ["man01", "man02"]


fleet = own_fleet("manifest", 3, [], "127.0.32.11", names=["cache01"] + TARGETS)


@pytest.fixture(scope="module")
def flake(fleet, tmp_path_factory):
    return FixtureFlake.colmena_hosts(tmp_path_factory.mktemp("manifest-flake") / "flake", fleet, TARGETS)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("manifest-work")


@pytest.fixture(scope="module")
def inventory(fleet, flake, tmp_path_factory):
    directory = tmp_path_factory.mktemp("manifest-inventory")
    inventory = write_fleet_inventory(directory, fleet, flake)
    write_static_group(directory, fleet, "caches", ["cache01"])
    return inventory


def cache_url(fleet):
    return "http://%s:8081" % fleet["cache01"].address


@pytest.fixture(scope="module")
def public_key(fleet, inventory, work):
    """cache01 serves a signed cache; the targets trust its key and substitute from it."""
    serve = inventory.parent.parent / "serve.yml"
    serve.write_text("- hosts: caches\n  gather_facts: false\n  roles: [nixfleet.nixos.binary_cache]\n")
    run = run_playbook(inventory.parent, str(serve), extra_vars={"binary_cache_secret_key_file": str(work / "c.sec")})
    assert run.rc == 0, failures(run)
    key = run.results("signing key")["cache01"]["public_key"]
    trust = inventory.parent.parent / "trust.yml"
    trust.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "nixos",
                    "gather_facts": False,
                    "roles": [
                        {
                            "role": "nixfleet.nixos.substituters",
                            "substituters_extra_urls": [cache_url(fleet)],
                            "substituters_trusted_public_keys": [key],
                        }
                    ],
                }
            ]
        )
    )
    assert run_playbook(inventory.parent, str(trust)).rc == 0
    return key


def build(inventory, fleet, work, manifest, *args):
    return run_playbook(
        inventory.parent,
        "build.yml",
        *args,
        extra_vars={
            "nixos_build_manifest": str(manifest),
            "nixos_deploy_cache_url": cache_url(fleet),
            "nixos_deploy_cache_secret_key_file": str(work / "c.sec"),
        },
    )


def deploy(inventory, manifest, key, *args, limit=None, **extra):
    variables = {
        "nixos_deploy_manifest": str(manifest),
        "nixos_deploy_manifest_trusted_keys": [key],
        "nixos_deploy_confirm_timeout": 10,
    }
    variables.update(extra)
    return run_playbook(inventory.parent, "deploy.yml", *args, extra_vars=variables, limit=limit)


def running(host):
    return inside(host, "readlink /run/current-system || true").strip()


def test_build_writes_the_manifest_once(fleet, flake, inventory, work, public_key):
    manifest = work / "manifest.json"
    run = build(inventory, fleet, work, manifest)
    assert run.rc == 0, failures(run)
    data = json.loads(manifest.read_text())
    assert data["format"] == "nixfleet-manifest" and data["version"] == 1 and data["cache"] == cache_url(fleet)
    assert {h: e["path"] for h, e in data["hosts"].items()} == {n: flake.out_path(n) for n in TARGETS}
    assert all(e["drv_path"].endswith(".drv") for e in data["hosts"].values())
    assert data["flake"].startswith("path:/nix/store/") and "narHash=" in data["flake"]
    push = list(run.results("Push every built system to the binary cache once").values())[0]
    assert sorted(push["pushed"]) == sorted(data["hosts"][n]["path"] for n in TARGETS)
    assert push["signed_by"] == public_key.split(":")[0]
    again = build(inventory, fleet, work, manifest)
    assert again.rc == 0 and list(again.results("Write the manifest").values())[0]["changed"] is False


def test_deploy_from_the_manifest_evaluates_and_builds_nothing(fleet, flake, inventory, work, public_key):
    manifest = json.loads((work / "manifest.json").read_text())
    paths = {h: e["path"] for h, e in manifest["hosts"].items()}
    flake.set_host("man01", version="2")  # the flake moved on since CI built the manifest
    flake.set_host("man02", version="2")
    # Not in the controller's store: the deploy can only get them from the cache.
    subprocess.run(
        ["nix-store", "--delete"] + sorted(paths.values()),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert not any(valid_on_controller(p) for p in paths.values())
    host_vars = inventory.parent / "host_vars" / "man02.yml"
    host_vars.write_text(yaml.safe_dump({"nixos_deploy_copy_mode": "push"}))
    try:
        check = deploy(
            inventory, work / "manifest.json", public_key, "--check", "--diff", nixos_deploy_copy_mode="cache"
        )
        assert check.rc == 0, failures(check)
        assert all(check.results("Copy and switch to the system")[n]["changed"] for n in TARGETS)
        assert [running(fleet[n]) for n in TARGETS] == ["", ""]  # check mode changed nothing
        run = deploy(inventory, work / "manifest.json", public_key, nixos_deploy_copy_mode="cache", limit="man01")
        assert run.rc == 0, failures(run)
        run2 = deploy(inventory, work / "manifest.json", public_key)
    finally:
        host_vars.unlink()
    assert run2.rc == 0, failures(run2)
    built = list(run.results("Build every host's system").values())[0]
    assert built["built"] is False and "build" not in built["nix_calls"] and "eval" not in built["nix_calls"]
    assert built["paths"] == {"man01": paths["man01"]}
    assert run.results("Copy and switch to the system")["man01"]["mode"] == "cache"
    pushed = run2.results("Copy and switch to the system")["man02"]
    assert pushed["mode"] == "push" and pushed["copied"] is True  # from the cache, through the controller
    for name in TARGETS:
        assert system_state(fleet[name]) == ("system-1-link", paths[name])
    assert not any(valid_on_controller(p) for p in paths.values())  # streamed through, never stored here


def write_manifest(work, name, hosts, cache):
    path = work / name
    path.write_text(
        json.dumps(
            {"format": "nixfleet-manifest", "version": 1, "flake": "", "rev": None, "cache": cache, "hosts": hosts}
        )
    )
    return path


def test_a_manifest_naming_an_unknown_host_is_refused_whole(fleet, inventory, work, public_key):
    good = json.loads((work / "manifest.json").read_text())["hosts"]
    before = {n: system_state(fleet[n]) for n in TARGETS}
    bad = write_manifest(work, "unknown.json", dict(good, stranger=good["man01"]), cache_url(fleet))
    run = deploy(inventory, bad, public_key)
    assert run.rc != 0
    message = failures(run)[0][2]
    assert "names hosts that are not in the inventory: stranger; nothing was deployed" in message
    assert {n: system_state(fleet[n]) for n in TARGETS} == before


def test_entries_that_are_not_signed_toplevels_in_the_cache_are_refused(fleet, flake, inventory, work, public_key):
    before = {n: system_state(fleet[n]) for n in TARGETS}
    # man01: a newer system pushed to the cache without a signature; man02: a path of its closure that is
    # signed and in the cache, but not a NixOS system
    flake.set_host("man01", version="3")
    unsigned = flake.out_path("man01")
    subprocess.run(["nix", "build", "--no-link", flake.toplevel("man01")], check=True)
    # (Nix's narinfo disk cache may remember an earlier fleet's cache at this URL: ask the cache itself)
    subprocess.run(["nix", "copy"] + list(FRESH_NARINFO) + ["--to", cache_url(fleet), unsigned], check=True)
    good = json.loads((work / "manifest.json").read_text())["hosts"]
    kernel = [
        p
        for p in subprocess.run(
            ["nix-store", "-qR", unsigned], stdout=subprocess.PIPE, universal_newlines=True, check=True
        ).stdout.split()
        if "-linux-" in p
    ][0]
    # (signed and in the cache with man02's system, which shares it)
    bad = write_manifest(
        work,
        "bad.json",
        {"man01": {"path": unsigned, "drv_path": None}, "man02": {"path": kernel, "drv_path": None}},
        cache_url(fleet),
    )
    run = deploy(inventory, bad, public_key)
    assert run.rc != 0
    said = {host: msg for _task, host, msg in failures(run)}
    assert "its closure is not signed by any of the trusted keys" in said["man01"], said
    assert "it is not a NixOS system (no bin/switch-to-configuration)" in said["man02"], said
    missing = write_manifest(
        work,
        "missing.json",
        {
            "man01": {"path": "/nix/store/%s-nixos-system-man01-9" % ("0" * 32), "drv_path": None},
            "man02": good["man02"],
        },
        cache_url(fleet),
    )
    run = deploy(inventory, missing, public_key)
    said = {host: msg for _task, host, msg in failures(run)}
    assert run.rc != 0 and "it is not in the cache %s" % cache_url(fleet) in said["man01"], said
    assert "man02" not in said  # the good entry deploys (it is already there: nothing changes)
    assert {n: system_state(fleet[n]) for n in TARGETS} == before
