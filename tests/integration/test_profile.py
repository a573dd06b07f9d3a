"""Package profiles on the fleet (hosts with Nix beside their distribution; node02 has no Python):
one build for every host, idempotence, the package diff in check mode, a new generation, rollback,
links on PATH, and per-host package sets."""

import pytest
import yaml
from fleetctl import FixtureFlake, inside
from fleet_fixtures import own_fleet
from playbook_helpers import run_playbook

pytestmark = pytest.mark.integration

HOSTS = ["node01", "node02", "node03"]
PROFILE = "/nix/var/nix/profiles/ops-tools"


fleet = own_fleet("profile", 3, ["node02"], "127.0.64.11")


@pytest.fixture(scope="module")
def flake(tmp_path_factory):
    flake = FixtureFlake.from_specs(tmp_path_factory.mktemp("profile-flake") / "flake", {})
    flake.data["packages"] = {"hello": "1.0", "greet": "2.1"}
    flake.write()
    return flake


@pytest.fixture(scope="module")
def inventory(fleet, tmp_path_factory):
    """A plain inventory, as for any Debian hosts that have Nix."""
    directory = tmp_path_factory.mktemp("profile-inventory")
    first = fleet.hosts[0]
    hosts = {h.name: {"ansible_host": h.address, "ansible_port": h.port, "ansible_user": h.user} for h in fleet.hosts}
    (directory / "hosts.yml").write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": hosts,
                    "vars": {
                        "ansible_ssh_private_key_file": first.private_key,
                        "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes"
                        % first.known_hosts,
                    },
                }
            }
        )
    )
    return directory / "hosts.yml"


def packages(flake, *names):
    return ["%s#packages.x86_64-linux.%s" % (flake.ref, n) for n in names]


def profile_vars(flake, **extra):
    return dict(
        {"profile_packages": packages(flake, "hello", "greet"), "profile_bin_dir": "/root/bin", "profile_d": True},
        **extra,
    )


def on(fleet, name, command):
    return inside(fleet[name], command).strip()


def test_profile_lands_on_every_host_with_one_build(fleet, flake, inventory):
    run = run_playbook(inventory, "profile.yml", extra_vars=profile_vars(flake))
    assert run.rc == 0, run.data
    build = list(run.results("Build every host's package profile").values())
    assert len(build) == 1 and build[0]["nix_calls"] == ["eval", "build"] and build[0]["sets"] == 1
    env = build[0]["paths"]["node01"]
    for name in HOSTS:
        result = run.results("Point the profile")[name]
        assert result["changed"] and result["packages"] == ["greet 2.1", "hello 1.0"]
        assert result["package_changes"] == {"added": ["greet 2.1", "hello 1.0"], "removed": [], "changed": []}
        assert on(fleet, name, "readlink -f %s" % PROFILE) == env
        assert on(fleet, name, "/root/bin/hello; /root/bin/greet") == "hello 1.0\ngreet 2.1"
        assert on(fleet, name, ". /etc/profile.d/nix-profile-ops-tools.sh && greet") == "greet 2.1"


def test_second_run_changes_nothing(flake, inventory):
    run = run_playbook(inventory, "profile.yml", extra_vars=profile_vars(flake))
    assert run.rc == 0
    assert all(run.stats(h)["changed"] == 0 for h in HOSTS), run.data["stats"]


def test_changed_package_diff_then_new_generation(fleet, flake, inventory):
    before = on(fleet, "node01", "readlink -f %s" % PROFILE)
    flake.data["packages"]["greet"] = "2.2"
    flake.write()
    check = run_playbook(inventory, "profile.yml", "--check", "--diff", extra_vars=profile_vars(flake))
    assert check.rc == 0, check.data
    result = check.results("Point the profile")["node02"]
    assert result["changed"] and result["package_changes"] == {
        "added": [],
        "removed": [],
        "changed": ["greet 2.1 -> 2.2"],
    }
    assert result["diff"]["before"] == "greet 2.1\nhello 1.0\n" and result["diff"]["after"] == "greet 2.2\nhello 1.0\n"
    assert list(check.results("Build every host's package profile").values())[0]["nix_calls"] == ["eval"]
    assert on(fleet, "node01", "readlink -f %s" % PROFILE) == before  # check mode changed nothing
    run = run_playbook(inventory, "profile.yml", extra_vars=profile_vars(flake))
    assert run.rc == 0
    for name in HOSTS:
        assert run.results("Point the profile")[name]["generation"] == 2
        assert on(fleet, name, "readlink %s" % PROFILE) == "ops-tools-2-link"
        assert on(fleet, name, "/root/bin/greet") == "greet 2.2"


def test_rollback_restores_the_previous_package_set(fleet, flake, inventory):
    run = run_playbook(inventory, "profile.yml", extra_vars=profile_vars(flake, profile_state="rollback"))
    assert run.rc == 0, run.data
    for name in HOSTS:
        result = run.results("Roll the profile back")[name]
        assert result["changed"] and result["generation"] == 1
        assert result["package_changes"]["changed"] == ["greet 2.2 -> 2.1"]
        assert on(fleet, name, "readlink %s" % PROFILE) == "ops-tools-1-link"
        assert on(fleet, name, "/root/bin/greet") == "greet 2.1"


def test_per_host_package_sets_still_one_build(fleet, flake, inventory):
    # As a user would: the fleet's list in group_vars, node03's own in host_vars (extra vars would win over both).
    for directory in ("host_vars", "group_vars"):
        (inventory.parent / directory).mkdir(exist_ok=True)
    (inventory.parent / "group_vars" / "all.yml").write_text(
        yaml.safe_dump({"profile_packages": packages(flake, "hello", "greet")})
    )
    (inventory.parent / "host_vars" / "node03.yml").write_text(
        yaml.safe_dump({"profile_packages": packages(flake, "hello")})
    )
    try:
        run = run_playbook(inventory, "profile.yml", extra_vars={"profile_bin_dir": "/root/bin"})
        assert run.rc == 0, run.data
        build = list(run.results("Build every host's package profile").values())[0]
        assert build["sets"] == 2 and build["nix_calls"] == ["eval", "build"]
        assert run.results("Point the profile")["node03"]["package_changes"]["removed"] == ["greet 2.1"]
        assert on(fleet, "node03", "ls /root/bin") == "hello"  # the greet link went with the package
        assert on(fleet, "node01", "/root/bin/greet") == "greet 2.2"
    finally:
        (inventory.parent / "host_vars" / "node03.yml").unlink()
        (inventory.parent / "group_vars" / "all.yml").unlink()


@pytest.mark.parametrize("hostile", ["x$(touch /root/INJECTED)", "../../../etc/cron.d/evil", "-rf"])
def test_a_hostile_profile_name_is_refused_and_changes_nothing(fleet, flake, inventory, hostile):
    before = {n: on(fleet, n, "ls /etc/profile.d /nix/var/nix/profiles | md5sum") for n in HOSTS}
    run = run_playbook(inventory, "profile.yml", extra_vars=profile_vars(flake, profile_name=hostile))
    assert run.rc == 2
    for name in HOSTS:
        msg = run.results("Point the profile")[name]["msg"]
        assert msg.startswith("profile name %r: use letters, digits and . _ + -" % hostile), msg
        assert on(fleet, name, "test -e /root/INJECTED && echo ran || echo nothing ran") == "nothing ran"
        assert on(fleet, name, "ls /etc/profile.d /nix/var/nix/profiles | md5sum") == before[name]
