"""A flake written for deploy-rs or colmena deploys as its settings say (issue: coming from deploy-rs,
colmena and nixos-rebuild): each setting the inventory maps is proven by a deploy on the fleet that
would go otherwise if the setting were ignored; settings with no meaning here are warned about.

Hosts: mig01 (deploy-rs node), mig02 (colmena), mig03 (plain, with specialisations), mig04 (a colmena hive
node: colmenaHive.nodes, as colmena.lib.makeHive makes it, no nixosConfigurations).
"""

import json
import subprocess

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import audit_log

from fleetctl import FixtureFlake, http_get, inside, path_info, system_state, valid_on_controller
from fleet_fixtures import own_fleet, fleet_inventory
from playbook_helpers import BIN, failures, run_playbook, run_task

pytestmark = pytest.mark.integration

SHAPES = {"mig01": "deploy-rs", "mig02": "colmena", "mig03": "plain", "mig04": "colmena-hive"}
NAMES = list(SHAPES)


fleet = own_fleet("migration", 4, [], "127.0.30.11", names=NAMES)


@pytest.fixture(scope="module")
def flake(fleet, tmp_path_factory):
    flake = FixtureFlake.create(tmp_path_factory.mktemp("migration-flake") / "flake", fleet, SHAPES)
    flake.set_host("mig03", specialisations=["maintenance"])
    return flake


inventory = fleet_inventory("migration")


def inventory_list(inventory):
    proc = subprocess.run(
        [BIN + "/ansible-inventory", "-i", str(inventory), "--list", "--export"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        check=True,
        cwd=str(inventory.parent),
    )
    return json.loads(proc.stdout)["_meta"]["hostvars"], proc.stderr


def toplevel(flake, name):
    output = "colmenaHive.nodes" if SHAPES.get(name) == "colmena-hive" else "nixosConfigurations"
    installable = '%s#%s."%s".config.system.build.toplevel.outPath' % (flake.ref, output, name)
    return subprocess.run(
        ["nix", "eval", "--raw", installable], stdout=subprocess.PIPE, universal_newlines=True, check=True
    ).stdout


RESET = {"fail": "none", "deploy_rs": {}, "profile_settings": {}, "colmena": {}}


def deploy_new_generation(flake, inventory, host, **settings):
    """Deploy ``host`` once with a new generation made with ``settings`` (hosts.json keys), which are
    taken back afterwards (the version stays): (the run, the new system's store path)."""
    flake.bump(host, **settings)
    new = toplevel(flake, host)
    try:
        return run_playbook(inventory, "deploy.yml", limit=host), new
    finally:
        flake.set_host(host, **{key: RESET[key] for key in settings})


def audit_records(host):
    records, malformed = audit_log.parse_records(inside(host, audit_log.read_command(50).text))
    assert malformed == 0
    return records


def failure_of(run, host):
    """What ``host`` failed with, in the end."""
    return [f for f in failures(run) if f[1] == host][-1][2]


def test_first_deploy_of_every_host(fleet, flake, inventory):
    run = run_playbook(inventory, "deploy.yml")
    assert run.rc == 0, failures(run)
    for host in fleet.hosts:
        assert system_state(host) == ("system-1-link", toplevel(flake, host.name))


def test_a_colmena_hive_node_is_a_host_where_its_deployment_says(fleet, flake, inventory):
    hostvars = inventory_list(inventory)[0]
    mig04 = hostvars["mig04"]
    assert (mig04["nixos_attr"], mig04["nixos_metadata_source"]) == ('colmenaHive.nodes."mig04"', "colmena")
    assert (mig04["ansible_host"], mig04["ansible_port"]) == (fleet["mig04"].address, fleet["mig04"].port)
    flake.bump("mig04", colmena={"tags": ["hive"]})
    run = run_playbook(inventory, "deploy.yml", limit="tag_hive")
    flake.set_host("mig04", colmena={})
    assert run.rc == 0, failures(run)
    assert system_state(fleet["mig04"]) == ("system-2-link", toplevel(flake, "mig04"))


def test_deploy_rs_settings_are_inherited_deploy_then_node_then_profile(flake, inventory):
    flake.data["deploy_settings"] = {"confirmTimeout": 11, "activationTimeout": 300, "tempPath": "/var/tmp/a"}
    flake.set_host(
        "mig01", deploy_rs={"confirmTimeout": 12, "tempPath": "/var/tmp/b"}, profile_settings={"tempPath": "/var/tmp/c"}
    )
    try:
        hostvars = inventory_list(inventory)[0]
    finally:
        flake.data.pop("deploy_settings")
        flake.set_host("mig01", deploy_rs={}, profile_settings={})
    mig01 = hostvars["mig01"]
    assert (
        mig01["nixos_deploy_activation_timeout"],
        mig01["nixos_deploy_confirm_timeout"],
        mig01["nixos_deploy_temp_path"],
    ) == (300, 12, "/var/tmp/c")
    # deploy-rs settings are the deploy-rs node's: a colmena or plain host gets none of them
    assert "nixos_deploy_confirm_timeout" not in hostvars["mig02"]


def test_settings_with_no_meaning_here_are_warned_about_by_host_and_name(flake, inventory):
    flake.set_host("mig01", deploy_rs={"interactiveSudo": True})
    flake.set_host("mig02", colmena={"allowLocalDeployment": True, "replaceUnknownProfiles": False})
    try:
        stderr = inventory_list(inventory)[1]
    finally:
        flake.set_host("mig01", deploy_rs={})
        flake.set_host("mig02", colmena={})
    text = " ".join(stderr.split())
    assert "host mig01: deploy-rs interactiveSudo = true" in text, stderr
    assert "host mig02: colmena allowLocalDeployment = true" in text, stderr
    assert "host mig02: colmena replaceUnknownProfiles = false is not honoured" in text, stderr


def test_a_setting_of_the_wrong_type_fails_that_host_only_before_anything_changes(fleet, flake, inventory):
    before = {h.name: system_state(h) for h in fleet.hosts}
    flake.bump("mig01", deploy_rs={"confirmTimeout": "soon"})
    flake.bump("mig02")
    try:
        run = run_playbook(inventory, "deploy.yml")
    finally:
        flake.set_host("mig01", deploy_rs={})
    assert run.rc != 0 and run.stats("mig01")["failures"] == 1
    failed = [f for f in failures(run) if f[1] == "mig01"]
    assert "deploy-rs setting confirmTimeout of host mig01 must be a positive number of seconds" in failed[0][2]
    assert system_state(fleet["mig01"]) == before["mig01"]
    assert system_state(fleet["mig02"]) == ("system-2-link", toplevel(flake, "mig02"))


def test_magic_rollback_false_deploys_without_the_watchdog(fleet, flake, inventory):
    flake.bump("mig01", deploy_rs={"magicRollback": False})
    run = run_playbook(inventory, "deploy.yml", limit="mig01")
    assert run.rc == 0, failures(run)
    assert run.results("Copy and switch to the system")["mig01"]["confirmation"] == "not requested"
    flake.bump("mig01", deploy_rs={})
    run = run_playbook(inventory, "deploy.yml", limit="mig01")
    assert run.results("Copy and switch to the system")["mig01"]["confirmation"] == "confirmed"


def test_confirm_timeout_is_the_watchdog_window(fleet, flake, inventory):
    """A generation that stops sshd cannot be confirmed: the host rolls itself back when *its* window
    (confirmTimeout = 4, not the default 30) closes, and the message says so."""
    before = system_state(fleet["mig01"])
    run = deploy_new_generation(flake, inventory, "mig01", fail="kill-sshd", deploy_rs={"confirmTimeout": 4})[0]
    assert run.rc != 0
    message = failure_of(run, "mig01")
    assert "within 4s of activating" in message, message
    assert system_state(fleet["mig01"])[1] == before[1]


def test_auto_rollback_false_leaves_a_failed_activation_as_it_is(fleet, flake, inventory):
    before = system_state(fleet["mig01"])
    run, new = deploy_new_generation(flake, inventory, "mig01", fail="fail", profile_settings={"autoRollback": False})
    assert run.rc != 0
    message = failure_of(run, "mig01")
    assert "left as it is (auto rollback is off)" in message, message
    # the fixture's 'fail' moves /run/current-system before failing: it stays there, and so does the profile
    assert system_state(fleet["mig01"])[1] == new and system_state(fleet["mig01"]) != before
    assert inside(fleet["mig01"], "readlink -f /nix/var/nix/profiles/system").strip() == new


def test_activation_timeout_kills_a_slow_activation_and_rolls_back(fleet, flake, inventory):
    run = run_playbook(inventory, "deploy.yml", limit="mig01")  # back on a good generation first
    assert run.rc == 0, failures(run)
    before = system_state(fleet["mig01"])
    run = deploy_new_generation(flake, inventory, "mig01", fail="slow", deploy_rs={"activationTimeout": 2})[0]
    assert run.rc != 0
    message = failure_of(run, "mig01")
    assert "killed after its activation timeout of 2s" in message and "rolled back" in message, message
    assert system_state(fleet["mig01"]) == before


def test_temp_path_holds_the_switch_work_files(fleet, flake, inventory):
    host = fleet["mig01"]
    assert inside(host, "test -e /run/deploy-rs-temp && echo yes || echo no").strip() == "no"
    run = deploy_new_generation(flake, inventory, "mig01", deploy_rs={"tempPath": "/run/deploy-rs-temp"})[0]
    assert run.rc == 0, failures(run)
    # the transaction made its directory there (and removed its own work files when done)
    assert inside(host, "test -d /run/deploy-rs-temp && echo yes || echo no").strip() == "yes"
    assert inside(host, "ls -A /run/deploy-rs-temp").strip() == ""


def test_fast_connection_false_substitutes_on_the_destination(fleet, flake, inventory):
    run = deploy_new_generation(flake, inventory, "mig01", deploy_rs={"fastConnection": False})[0]
    assert run.rc == 0, failures(run)
    copy = run.results("Copy and switch to the system")["mig01"]
    assert copy["mode"] == "substitute" and copy["copied"] is True


@pytest.mark.parametrize(
    "host, setting", [("mig01", {"deploy_rs": {"remoteBuild": True}}), ("mig02", {"colmena": {"buildOnTarget": True}})]
)
def test_build_on_target_builds_on_the_host_not_the_controller(fleet, flake, inventory, host, setting):
    run, new = deploy_new_generation(flake, inventory, host, **setting)
    assert run.rc == 0, failures(run)
    build = list(run.results("Build every host's system with one nix build").values())[0]
    assert build["on_target"] == [host] and build["paths"][host] == new
    copy = run.results("Copy and switch to the system")[host]
    assert copy["built_on_target"] is True
    # the controller only evaluated it: the system was built by the host
    assert not valid_on_controller(new)
    assert system_state(fleet[host])[1] == new
    assert inside(fleet[host], "nix-store -q --deriver %s" % new).strip() == build["drv_paths"][host]


def test_colmena_ssh_options_reach_every_ssh_to_the_host(fleet, flake, inventory):
    """mig02 says where sshd listens only in sshOptions (targetPort = null): without them, port 22."""
    flake.bump("mig02", colmena={"targetPort": None, "sshOptions": ["-p", str(fleet["mig02"].port)]})
    new = toplevel(flake, "mig02")
    try:
        hostvars = inventory_list(inventory)[0]
        run = run_playbook(inventory, "deploy.yml", limit="mig02")
    finally:
        flake.set_host("mig02", colmena={})
    assert hostvars["mig02"]["ansible_port"] == fleet["mig02"].port
    assert run.rc == 0, failures(run)
    assert run.results("Copy and switch to the system")["mig02"]["copied"] is True
    assert system_state(fleet["mig02"])[1] == new


def test_specialisation_runs_while_the_boot_entry_stays_the_base(fleet, flake, inventory):
    host = fleet["mig03"]
    base = toplevel(flake, "mig03")
    run = run_playbook(
        inventory, "deploy.yml", limit="mig03", extra_vars={"nixos_deploy_specialisation": "maintenance"}
    )
    assert run.rc == 0, failures(run)
    special = inside(host, "readlink -f %s/specialisation/maintenance" % base).strip()
    assert special and special != base
    switch = run.results("Copy and switch to the system")["mig03"]
    assert switch["specialisation"] == "maintenance" and switch["activated_path"] == special
    assert system_state(host) == ("system-1-link", special)  # running: the specialisation
    assert inside(host, "readlink -f /nix/var/nix/profiles/system").strip() == base  # boot entry: the base
    assert inside(host, "readlink /nix/var/nixfleet/boot/default").strip() == base
    assert http_get(host) == "mig03 1-maintenance\n"
    again = run_playbook(
        inventory, "deploy.yml", limit="mig03", extra_vars={"nixos_deploy_specialisation": "maintenance"}
    )
    assert again.rc == 0 and again.stats("mig03")["changed"] == 0
    facts = run_task(inventory, "mig03", "nixfleet.nixos.facts")
    listed = facts.results("task under test")["mig03"]["ansible_facts"]["nixos"]["generations"]
    assert [g["specialisations"] for g in listed] == [["maintenance"]]
    # back to the base system: the specialisation is no longer wanted
    run = run_playbook(inventory, "deploy.yml", limit="mig03")
    assert run.rc == 0 and system_state(host) == ("system-1-link", base)


def test_a_missing_specialisation_is_an_error_before_anything_changes(fleet, flake, inventory):
    host = fleet["mig03"]
    before = system_state(host)
    run = run_playbook(inventory, "deploy.yml", limit="mig03", extra_vars={"nixos_deploy_specialisation": "nope"})
    assert run.rc != 0
    message = failure_of(run, "mig03")
    assert "has no specialisation 'nope' (it has: maintenance); nothing was changed" in message, message
    assert system_state(host) == before


def test_install_bootloader_reaches_the_activation(fleet, flake, inventory):
    host = fleet["mig03"]
    log = "/nix/var/nixfleet/boot/bootloader-installs"
    flake.bump("mig03")
    run = run_playbook(inventory, "deploy.yml", limit="mig03")
    assert run.rc == 0, failures(run)
    assert inside(host, "cat %s 2>/dev/null || true" % log).strip() == ""
    flake.bump("mig03")
    new = toplevel(flake, "mig03")
    run = run_playbook(inventory, "deploy.yml", limit="mig03", extra_vars={"nixos_deploy_install_bootloader": True})
    assert run.rc == 0, failures(run)
    assert run.results("Copy and switch to the system")["mig03"]["install_bootloader"] is True
    assert inside(host, "cat %s" % log).split() == [new]
    assert path_info(new)  # built on the controller, as usual


def test_deploy_rs_profiles_besides_system_are_deployed_in_profiles_order(fleet, flake, inventory):
    host = fleet["mig01"]
    flake.set_host(
        "mig01",
        deploy_rs_profiles={"hello": {"version": "1"}, "tools": {"version": "1"}},
        profiles_order=["system", "tools", "hello"],
    )
    hostvars = inventory_list(inventory)[0]
    assert [(p["name"], p["user"], p["profile_path"]) for p in hostvars["mig01"]["nixos_deploy_rs_profiles"]] == [
        ("tools", "root", "/nix/var/nix/profiles/per-user/root/tools"),
        ("hello", "root", "/nix/var/nix/profiles/per-user/root/hello"),
    ]
    run = run_playbook(inventory, "deploy.yml", limit="mig01")
    assert run.rc == 0, failures(run)
    deployed = run.results("Deploy the node's other deploy-rs profiles")["mig01"]["results"]
    assert [r["item"]["name"] for r in deployed] == ["tools", "hello"] and all(r["activated"] for r in deployed)
    # in the system's transaction: magic rollback's watchdog, confirmed over a fresh connection
    assert [r["confirmation"] for r in deployed] == ["confirmed", "confirmed"]
    for name in ("tools", "hello"):
        profile = "/nix/var/nix/profiles/per-user/root/%s" % name
        assert inside(host, "readlink %s" % profile).strip() == "%s-1-link" % name
        assert inside(host, "%s/bin/%s" % (profile, name)).strip() == "%s 1" % name
        # activated by its own deploy-rs-activate, as its user, with PROFILE set
        assert inside(host, "cat /run/deploy-rs-%s" % name).strip() == "root 1 %s" % profile
    # each on record in the host's audit log, naming its profile; the system's record still explains what runs
    records = audit_records(host)
    assert [(r.profile, r.status) for r in records[-2:]] == [
        ("/nix/var/nix/profiles/per-user/root/tools", "confirmed"),
        ("/nix/var/nix/profiles/per-user/root/hello", "confirmed"),
    ]
    running = inside(host, "readlink /run/current-system").strip()
    explained = audit_log.explaining_record(records, running)
    assert explained is not None and explained.profile is None and explained.path == running
    again = run_playbook(inventory, "deploy.yml", limit="mig01")
    assert again.rc == 0 and again.stats("mig01")["changed"] == 0


def test_a_failing_profile_activation_is_rolled_back_and_fails_the_host(fleet, flake, inventory):
    host = fleet["mig01"]
    flake.set_host(
        "mig01",
        deploy_rs_profiles={"hello": {"version": "2", "fail": True}, "tools": {"version": "1"}},
        profiles_order=["system", "tools", "hello"],
    )
    try:
        run = run_playbook(inventory, "deploy.yml", limit="mig01")
    finally:
        flake.set_host("mig01", deploy_rs_profiles={}, profiles_order=None)
    assert run.rc != 0
    message = failure_of(run, "mig01")
    assert "activation (deploy-rs-activate) of /nix/store/" in message, message
    assert "-deploy-rs-hello-mig01-2 in /nix/var/nix/profiles/per-user/root/hello failed" in message, message
    assert "rolled back to generation 1 of /nix/var/nix/profiles/per-user/root/hello" in message, message
    # the failed activation ran (it wrote version 2), then the restored generation 1 was activated again
    assert inside(host, "readlink /nix/var/nix/profiles/per-user/root/hello").strip() == "hello-1-link"
    assert inside(host, "cat /run/deploy-rs-hello").strip() == "root 1 /nix/var/nix/profiles/per-user/root/hello"
