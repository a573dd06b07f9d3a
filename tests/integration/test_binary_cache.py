"""A signed binary cache on the fleet and deploys through it: role binary_cache (real nginx),
cache_push (one nix copy for every host), targets pulling with signatures checked, and a path
signed by a key the targets do not trust refused. cache01 serves; node01 and node02 (no Python) deploy."""

import json
import sqlite3
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml
from fleetctl import FixtureFlake, host_path_info, inside
from fleet_fixtures import own_fleet
from playbook_helpers import failures, run_playbook, run_task, write_fleet_inventory, write_static_group

pytestmark = pytest.mark.integration

TARGETS = ["node01", "node02"]


fleet = own_fleet("cache", 3, ["node02"], "127.0.63.11", names=["cache01"] + TARGETS)


@pytest.fixture(scope="module")
def flake(fleet, tmp_path_factory):
    return FixtureFlake.colmena_hosts(tmp_path_factory.mktemp("cache-flake") / "flake", fleet, TARGETS)


@pytest.fixture(scope="module")
def inventory(fleet, flake, tmp_path_factory):
    """The flake inventory for the targets, plus a static one for the cache host, in one directory."""
    directory = tmp_path_factory.mktemp("cache-inventory")
    write_fleet_inventory(directory, fleet, flake)
    write_static_group(directory, fleet, "caches", ["cache01"])
    return directory


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return tmp_path_factory.mktemp("cache-keys")


def serve_playbook(inventory):
    path = inventory.parent / "serve-cache.yml"  # not in the inventory directory
    path.write_text("- hosts: caches\n  gather_facts: false\n  roles: [nixfleet.nixos.binary_cache]\n")
    return str(path)


def trust_playbook(inventory):
    path = inventory.parent / "trust-cache.yml"
    path.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "nixos",
                    "gather_facts": False,
                    "roles": [
                        {
                            "role": "nixfleet.nixos.substituters",
                            "substituters_extra_urls": ["{{ cache_url }}"],
                            "substituters_trusted_public_keys": ["{{ trusted_key }}"],
                        }
                    ],
                }
            ]
        )
    )
    return str(path)


def http(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def cache_url(fleet):
    return "http://%s:8081" % fleet["cache01"].address


def test_check_mode_serves_nothing(fleet, inventory, keys):
    run = run_playbook(
        inventory,
        serve_playbook(inventory),
        "--check",
        extra_vars={"binary_cache_secret_key_file": str(keys / "cache01.sec")},
    )
    assert run.rc == 0, run.data
    assert run.results("Serve the binary cache")["cache01"]["changed"]
    assert not (keys / "cache01.sec").exists()
    with pytest.raises(OSError):
        http(cache_url(fleet) + "/nix-cache-info")


def test_serve_a_signed_cache(fleet, inventory, keys):
    variables = {"binary_cache_secret_key_file": str(keys / "cache01.sec")}
    run = run_playbook(inventory, serve_playbook(inventory), extra_vars=variables)
    assert run.rc == 0, run.data
    key = run.results("signing key")["cache01"]
    assert key["public_key"].startswith("cache01-1:") and oct((keys / "cache01.sec").stat().st_mode)[-3:] == "600"
    assert (keys / "cache01.sec").read_text().strip().split(":")[1] not in json.dumps(run.data)  # never printed
    assert "StoreDir: /nix/store" in http(cache_url(fleet) + "/nix-cache-info")
    again = run_playbook(inventory, serve_playbook(inventory), extra_vars=variables)
    assert again.rc == 0 and again.stats("cache01")["changed"] == 0


def deploy_vars(fleet, keys, secret="cache01.sec"):
    return {
        "nixos_deploy_copy_mode": "cache",
        "nixos_deploy_cache_url": cache_url(fleet),
        "nixos_deploy_cache_secret_key_file": str(keys / secret),
        "nixos_deploy_confirm_timeout": 10,
    }


def cache_logs(fleet):
    return inside(
        fleet["cache01"],
        "tail -n 30 /var/lib/nixfleet-binary-cache/access.log /var/lib/nixfleet-binary-cache/error.log",
    )


def store_hash(path):
    return path.split("/")[3].split("-")[0]


def fetched_from(host):
    """The target's own record (Nix's narinfo disk cache): which caches it asked, which paths they had.
    Its file name carries a schema version (v6 on Nix 2.8, newer on newer Nix; the tables are the same)."""
    files = sorted(
        Path(host.root, "root", ".cache", "nix").glob("binary-cache-v*.sqlite"),
        key=lambda f: int(f.stem.rsplit("-v", 1)[1]),
    )
    assert files, "%s has no narinfo disk cache" % host.name
    db = sqlite3.connect("file:%s?mode=ro" % files[-1], uri=True)
    try:
        urls = [row[0] for row in db.execute("select url from BinaryCaches")]
        hashes = [row[0] for row in db.execute("select hashPart from NARs where present = 1")]
    finally:
        db.close()
    return urls, hashes


def test_deploy_through_the_cache(fleet, flake, inventory, keys):
    key = run_playbook(
        inventory, serve_playbook(inventory), extra_vars={"binary_cache_secret_key_file": str(keys / "cache01.sec")}
    ).results("signing key")["cache01"]["public_key"]
    trust = run_playbook(
        inventory, trust_playbook(inventory), extra_vars={"trusted_key": key, "cache_url": cache_url(fleet)}
    )
    assert trust.rc == 0, trust.data
    run = run_playbook(inventory, "deploy.yml", extra_vars=deploy_vars(fleet, keys))
    assert run.rc == 0, (failures(run), cache_logs(fleet))
    pushes = run.results("Push every built system to the binary cache once")
    assert len(pushes) == 1  # run once, for every host
    push = list(pushes.values())[0]
    toplevels = run.results("Build every host's system")
    paths = list(toplevels.values())[0]["paths"]
    assert sorted(push["pushed"]) == sorted(paths.values()) and push["signed_by"] == "cache01-1"
    for name in TARGETS:
        host = fleet[name]
        assert run.results("Copy and switch to the system")[name]["mode"] == "cache"
        assert inside(host, "readlink /run/current-system").strip() == paths[name]
        info = host_path_info(host, paths[name])
        assert any(sig.startswith("cache01-1:") for sig in info["signatures"])
        # The target's own record of what it fetched from where (Nix's narinfo cache).
        urls, hashes = fetched_from(host)
        assert urls == [cache_url(fleet)]
        assert store_hash(paths[name]) in hashes
    log = inside(fleet["cache01"], "cat /var/lib/nixfleet-binary-cache/access.log")
    for name in TARGETS:
        narinfo = "/%s.narinfo" % store_hash(paths[name])
        assert len([line for line in log.splitlines() if '"PUT %s ' % narinfo in line]) == 1  # pushed once
        assert len([line for line in log.splitlines() if '"GET %s ' % narinfo in line]) >= 1  # pulled


def test_redeploy_pushes_and_switches_nothing(fleet, inventory, keys):
    run = run_playbook(inventory, "deploy.yml", extra_vars=deploy_vars(fleet, keys))
    assert run.rc == 0
    push = list(run.results("Push every built system to the binary cache once").values())[0]
    assert push["changed"] is False and push["pushed"] == []
    assert all(not run.results("Copy and switch to the system")[n]["changed"] for n in TARGETS)


def test_untrusted_signature_is_refused(fleet, flake, inventory, keys):
    other = run_playbook(
        inventory,
        serve_playbook(inventory),
        extra_vars={"binary_cache_secret_key_file": str(keys / "rogue.sec"), "binary_cache_key_name": "rogue-1"},
    )
    assert other.rc == 0
    before = inside(fleet["node01"], "readlink /run/current-system").strip()
    flake.set_host("node01", version="2")
    run = run_playbook(inventory, "deploy.yml", extra_vars=deploy_vars(fleet, keys, "rogue.sec"), limit="node01")
    assert run.rc != 0
    copy = run.results("Copy and switch to the system")["node01"]
    assert copy["failed"]
    assert "it is not signed by any key in the host's trusted-public-keys" in copy["msg"]
    assert inside(fleet["node01"], "readlink /run/current-system").strip() == before


def test_substitute_mode_pushes_once_and_hosts_substitute(fleet, flake, inventory, keys):
    """copy mode substitute: one push to the cache, then nix copy --substitute-on-destination lets the
    host fetch from its own substituters (the cache, configured by the substituters role)."""
    flake.set_host("node02", version="3")
    variables = dict(deploy_vars(fleet, keys), nixos_deploy_copy_mode="substitute")
    run = run_playbook(inventory, "deploy.yml", extra_vars=variables, limit="node02")
    assert run.rc == 0, run.data
    path = list(run.results("Build every host's system").values())[0]["paths"]["node02"]
    push = list(run.results("Push every built system to the binary cache once").values())[0]
    assert push["pushed"] == [path]
    assert run.results("Copy and switch to the system")["node02"]["mode"] == "substitute"
    assert inside(fleet["node02"], "readlink /run/current-system").strip() == path
    assert store_hash(path) in fetched_from(fleet["node02"])[1]


def test_cache_key_takes_a_vaulted_key_and_refuses_to_clobber(inventory, keys):
    given = keys / "given"
    given.mkdir()
    subprocess.run(
        ["nix-store", "--generate-binary-cache-key", "vault-1", str(given / "sec"), str(given / "pub")], check=True
    )
    secret = (given / "sec").read_text().strip()
    target = keys / "taken.sec"

    def cache_key(**args):
        run = run_task(inventory, "cache01", "nixfleet.nixos.cache_key", dict(secret_key_file=str(target), **args))
        return run.rc, run.results("task under test")["cache01"]

    rc, result = cache_key(secret_key=secret)
    assert rc == 0 and result["changed"] and result["public_key"] == (given / "pub").read_text().strip()
    assert target.read_text().strip() == secret and oct(target.stat().st_mode)[-3:] == "600"
    assert secret.split(":")[1] not in json.dumps(result)
    rc, result = cache_key(secret_key=secret)
    assert rc == 0 and not result["changed"]
    rc, result = cache_key(name="other-1")  # an existing key is kept, whatever name is asked
    assert rc == 0 and not result["changed"] and result["key_name"] == "vault-1"
    other = (keys / "cache01.sec").read_text().strip()
    rc, result = cache_key(secret_key=other)
    assert rc != 0 and "already holds another key (%s)" % (given / "pub").read_text().strip() in result["msg"]
    assert target.read_text().strip() == secret
    target.chmod(0o644)
    rc, result = cache_key()
    assert rc != 0 and "readable by others (mode 0644)" in result["msg"]
    rc, result = cache_key(secret_key="vault-1:bm90IGEga2V5")
    assert rc != 0 and "not a 64-byte Ed25519 secret key" in result["msg"] and "bm90IGEga2V5" not in result["msg"]
