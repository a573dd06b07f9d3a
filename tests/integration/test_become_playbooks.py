"""The other playbooks and roles as a non-root ssh user with sudo (see test_become.py for deploy.yml):
a binary cache served and trusted, a deploy through it, verify.yml, gc.yml, profile.yml and sops_age.yml.

cache01 (a static inventory host) and node02 (deploy-rs, no Python) have NOPASSWD sudo; node01's
sudo asks for a password (colmena ``targetUser = "deploy"``). Every host's store belongs to a
nix-daemon run by root.
"""

import time

import pytest
import yaml

from fleetctl import FixtureFlake, host_path_info, inside
from fleet_fixtures import own_fleet
from playbook_helpers import failures, leaked_lines, run_playbook, run_playbook_text, write_fleet_inventory
from sops_files import make_repo

import nsfleet

pytestmark = pytest.mark.integration

TARGETS = ["node01", "node02"]
USERS = {
    "cache01": nsfleet.DeployUser("nopasswd"),
    "node01": nsfleet.DeployUser("password"),
    "node02": nsfleet.DeployUser("nopasswd"),
}
CONFIRM = 5


fleet = own_fleet("become-playbooks", 3, ["node02"], "127.0.17.11", names=["cache01"] + TARGETS, deploy_users=USERS)


@pytest.fixture(scope="module")
def flake(fleet, tmp_path_factory):
    hosts = {
        n: {
            "address": fleet[n].address,
            "port": fleet[n].port,
            "user": "deploy",
            "shape": "colmena" if n == "node01" else "deploy-rs",
        }
        for n in TARGETS
    }
    flake = FixtureFlake.from_specs(tmp_path_factory.mktemp("become-playbooks-flake") / "flake", hosts)
    flake.data["packages"] = {"hello": "1.0", "greet": "2.1"}
    flake.write()
    return flake


@pytest.fixture(scope="module")
def inventory(fleet, flake, tmp_path_factory):
    directory = tmp_path_factory.mktemp("become-playbooks-inventory")
    write_fleet_inventory(directory, fleet, flake)
    cache = fleet["cache01"]
    (directory / "cache.yml").write_text(
        yaml.safe_dump(
            {
                "caches": {
                    "hosts": {
                        "cache01": {
                            "ansible_host": cache.address,
                            "ansible_port": cache.port,
                            "ansible_user": "deploy",
                            "ansible_become": True,
                        }
                    }
                }
            }
        )
    )
    return directory


def common(fleet, **extra):
    """Variables of every run: node01's sudo password, a short confirm window."""
    return dict({"ansible_become_password": fleet["node01"].password, "nixos_deploy_confirm_timeout": CONFIRM}, **extra)


def playbook(inventory, name, plays):
    path = inventory.parent / name
    path.write_text(yaml.safe_dump(plays))
    return str(path)


def test_a_cache_served_and_trusted_as_deploy_then_a_deploy_through_it(fleet, flake, inventory, tmp_path):
    url = "http://%s:8081" % fleet["cache01"].address
    serve = playbook(
        inventory, "serve.yml", [{"hosts": "caches", "gather_facts": False, "roles": ["nixfleet.nixos.binary_cache"]}]
    )
    served = run_playbook(
        inventory, serve, extra_vars=common(fleet, binary_cache_secret_key_file=str(tmp_path / "cache01.sec"))
    )
    assert served.rc == 0, failures(served)
    key = served.results("signing key")["cache01"]["public_key"]
    trust = playbook(
        inventory,
        "trust.yml",
        [
            {
                "hosts": "nixos",
                "gather_facts": False,
                "roles": [
                    {
                        "role": "nixfleet.nixos.substituters",
                        "substituters_extra_urls": [url],
                        "substituters_trusted_public_keys": [key],
                    }
                ],
            }
        ],
    )
    trusted = run_playbook(inventory, trust, extra_vars=common(fleet))
    assert trusted.rc == 0, failures(trusted)
    for name in TARGETS:
        assert key in inside(fleet[name], "cat /etc/nix/nix.conf")
    run = run_playbook(
        inventory,
        "deploy.yml",
        extra_vars=common(
            fleet,
            nixos_deploy_copy_mode="cache",
            nixos_deploy_cache_url=url,
            nixos_deploy_cache_secret_key_file=str(tmp_path / "cache01.sec"),
        ),
    )
    assert run.rc == 0, failures(run)
    paths = list(run.results("Build every host's system").values())[0]["paths"]
    time.sleep(CONFIRM + 2)  # past the confirm window: a change nobody confirmed would be rolled back
    for name in TARGETS:
        assert inside(fleet[name], "readlink /run/current-system").strip() == paths[name]
        assert any(s.startswith("cache01-1:") for s in host_path_info(fleet[name], paths[name])["signatures"])


def test_verify_as_deploy(fleet, inventory):
    run = run_playbook(inventory, "verify.yml", extra_vars=common(fleet))
    assert run.rc == 0, failures(run)
    for name in TARGETS:
        assert (
            run.results("Compare with what each host runs")[name]["ansible_facts"]["nixos_verify_drift"]["in_sync"]
            is True
        )
        assert run.stats(name)["changed"] == 0
        # The audit log the root transaction wrote, read back as deploy.
        assert "; put there by " in run.results("Report")[name]["msg"]


def test_gc_as_deploy_through_sudo(fleet, flake, inventory):
    old = {n: inside(fleet[n], "readlink /run/current-system").strip() for n in TARGETS}
    for name in TARGETS:
        flake.bump(name)
    deployed = run_playbook(inventory, "deploy.yml", extra_vars=common(fleet))
    assert deployed.rc == 0, failures(deployed)
    run = run_playbook(inventory, "gc.yml", extra_vars=common(fleet, nixos_gc_keep_last=1))
    assert run.rc == 0, failures(run)
    for name in TARGETS:
        host = fleet[name]
        running = inside(host, "readlink /run/current-system").strip()
        assert running != old[name] and run.stats(name)["changed"] == 1
        assert inside(host, "for l in /nix/var/nix/profiles/system-*-link; do readlink $l; done").split() == [running]
        # Collected by the store's nix-daemon: no service the activations started (through sudo) keeps
        # the old system in its environment (sudo's SUDO_COMMAND names it), where Nix would see a root.
        assert host_path_info(host, old[name]) is None, inside(host, "nix-store -q --roots %s" % old[name])
        assert run.results("Prune")[name]["paths_freed"] > 0


def test_a_package_profile_as_deploy(fleet, flake, inventory):
    variables = common(
        fleet,
        nixos_profile_hosts="nixos",
        profile_bin_dir="/usr/local/lib/nixfleet-bin",
        profile_packages=["%s#packages.x86_64-linux.%s" % (flake.ref, n) for n in ("hello", "greet")],
    )
    run = run_playbook(inventory, "profile.yml", extra_vars=variables)
    assert run.rc == 0, failures(run)
    for name in TARGETS:
        host = fleet[name]
        assert (
            inside(
                host,
                "stat -c %U $(dirname /nix/var/nix/profiles/ops-tools)/$(readlink /nix/var/nix/profiles/ops-tools)",
            ).strip()
            == "root"
        )
        assert inside(host, "/usr/local/lib/nixfleet-bin/hello").strip() == "hello 1.0"
    again = run_playbook(inventory, "profile.yml", extra_vars=variables)
    assert again.rc == 0 and all(again.stats(n)["changed"] == 0 for n in TARGETS), failures(again)


def test_sops_age_keys_as_deploy(fleet, inventory, tmp_path):
    make_repo(tmp_path, TARGETS)
    variables = common(
        fleet,
        nixos_sops_hosts="nixos",
        sops_age_key_src="%s/keys/{{ inventory_hostname }}.txt" % tmp_path,
        sops_age_sops_config=str(tmp_path / ".sops.yaml"),
        sops_age_secrets_files=["secrets/{{ inventory_hostname }}.yaml"],
    )
    rc, out = run_playbook_text(inventory, "sops_age.yml", "-vvv", "--diff", extra_vars=variables)
    assert rc == 0, out[-4000:]
    for name in TARGETS:
        key = (tmp_path / "keys" / ("%s.txt" % name)).read_text().strip()
        assert (
            inside(fleet[name], "stat -c '%u %g %a' /var/lib/sops-nix/key.txt; cat /var/lib/sops-nix/key.txt").strip()
            == "0 0 600\n" + key
        )
        secret = [line for line in key.splitlines() if line.startswith("AGE-SECRET-KEY-")][0]
        assert leaked_lines(out, [secret, fleet["node01"].password]) == []
