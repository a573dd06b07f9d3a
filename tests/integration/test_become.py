"""Deploying as a non-root ssh user that becomes root with sudo (deploy-rs' and nixos-rebuild's setup).

Every host of this fleet logs in as ``deploy``; a nix-daemon run by root owns its store (multi-user
Nix). node01 (colmena ``targetUser = "deploy"``) and node02 (deploy-rs ``sshUser = "deploy"``,
``profiles.system.user = "root"``, no Python) get ``ansible_become`` from the inventory; node03
(no metadata: host_vars) asks for a sudo password; Nix does not trust node04's ``deploy``. Each test
checks the host's state after the confirm window closed: a change that was not confirmed would be
rolled back by then.
"""

import json
import subprocess
import time

import pytest
import yaml

from fleetctl import holding_lock, inside, served_version, stop_processes, system_state
from fleet_fixtures import own_fleet, fleet_flake
from inventory_helpers import hostvars, inventory_list
from playbook_helpers import (
    failures,
    leaked_lines,
    run_playbook,
    run_playbook_on_a_terminal,
    run_playbook_text,
    run_task,
    write_fleet_inventory,
)

pytestmark = pytest.mark.integration

import nsfleet  # noqa: E402  (fleetctl put tests/fleet on the path)

SHAPES = {"node01": "colmena", "node02": "deploy-rs", "node03": "plain", "node04": "colmena"}
USERS = {
    "node01": nsfleet.DeployUser("nopasswd"),
    "node02": nsfleet.DeployUser("nopasswd"),
    "node03": nsfleet.DeployUser("password"),
    "node04": nsfleet.DeployUser("nopasswd", trusted=False),
}
CONFIRM = 5
FAST = {"nixos_deploy_confirm_timeout": CONFIRM}
SWITCHED = "node01:node02:node03"  # deployed by the inventory fixture; node04 has its own test


fleet = own_fleet("become", 4, ["node02"], "127.0.16.11", deploy_users=USERS)
flake = fleet_flake("become", SHAPES)


@pytest.fixture(scope="module")
def inventory(fleet, flake, tmp_path_factory):
    inv = write_fleet_inventory(tmp_path_factory.mktemp("become-inventory"), fleet, flake)
    node03 = inv.parent / "host_vars" / "node03.yml"
    node03.write_text(node03.read_text() + "ansible_become: true\n")
    first = run_playbook(inv, "deploy.yml", limit=SWITCHED, extra_vars=with_password(fleet))
    assert first.rc == 0, failures(first)
    return inv


def with_password(fleet, **extra):
    return dict(FAST, ansible_become_password=fleet["node03"].password, **extra)


def after_the_confirm_window():
    time.sleep(CONFIRM + 2)


def test_the_inventory_logs_in_as_deploy_and_becomes_root_where_the_flake_says(inventory):
    rc, data, stderr = inventory_list(inventory)
    assert rc == 0, stderr
    hv = hostvars(data)
    assert {n: hv[n]["ansible_user"] for n in ("node01", "node02", "node04")} == dict.fromkeys(
        ("node01", "node02", "node04"), "deploy"
    )
    for name in ("node01", "node02", "node04"):  # colmena targetUser / deploy-rs sshUser "deploy", activation as root
        assert (hv[name]["ansible_become"], hv[name]["ansible_become_user"]) == (True, "root"), name
    # Only networking.hostName: the inventory sets no user or become, the host_vars say them.
    assert hv["node03"]["nixos_metadata_source"] == "networking" and "ansible_become_user" not in hv["node03"]


def test_deploy_as_deploy_sticks_after_the_confirm_window(fleet, flake, inventory):
    versions = {n: flake.bump(n) for n in ("node01", "node02", "node03")}
    run = run_playbook(inventory, "deploy.yml", limit=SWITCHED, extra_vars=with_password(fleet))
    assert run.rc == 0, failures(run)
    switched = run.results("Copy and switch to the system")
    assert all(switched[n]["changed"] and switched[n]["confirmation"] == "confirmed" for n in versions), switched
    after_the_confirm_window()
    for name, version in versions.items():
        host = fleet[name]
        profile, running = system_state(host)
        assert running == switched[name]["path"] and profile.startswith("system-"), name
        assert served_version(host) == version
        # The profile is root's (sudo set it), and the watchdog's work directory is gone.
        assert inside(host, "stat -c %U /nix/var/nix/profiles/" + profile).strip() == "root"
        assert inside(host, "ls /run/nixfleet 2>/dev/null | wc -l").strip() == "0"


def test_second_run_and_check_mode_change_nothing(fleet, flake, inventory):
    again = run_playbook(inventory, "deploy.yml", limit=SWITCHED, extra_vars=with_password(fleet))
    assert again.rc == 0, failures(again)
    for name in ("node01", "node02", "node03"):
        assert again.stats(name)["changed"] == 0, name
    before = system_state(fleet["node01"])
    flake.bump("node01")
    check = run_playbook(inventory, "deploy.yml", "--check", "--diff", limit="node01", extra_vars=FAST)
    assert check.rc == 0, failures(check)
    result = check.results("Copy and switch to the system")["node01"]
    assert result["changed"] is True and result["diff"]["before"].strip() == before[1]
    assert system_state(fleet["node01"]) == before


def test_failed_activation_rolls_back(fleet, flake, inventory):
    host = fleet["node01"]
    before, old = system_state(host), served_version(host)
    flake.bump("node01", fail="fail")
    run = run_playbook(inventory, "deploy.yml", limit="node01", extra_vars=FAST)
    assert run.rc == 2
    result = run.results("Copy and switch to the system")["node01"]
    assert result["rolled_back"] is True and "rolled back to generation" in result["msg"]
    after_the_confirm_window()
    assert system_state(host) == before and served_version(host) == old
    flake.set_host("node01", fail="none")


def test_a_generation_that_kills_sshd_rolls_itself_back(fleet, flake, inventory):
    host = fleet["node02"]  # deploy-rs, no Python
    before, old = system_state(host), served_version(host)
    flake.bump("node02", fail="kill-sshd")
    run = run_playbook(inventory, "deploy.yml", limit="node02", extra_vars=FAST)
    assert run.rc == 2
    result = run.results("Copy and switch to the system")["node02"]
    assert result["rolled_back"] is True
    assert "no fresh ssh connection to the host within %ds" % CONFIRM in result["msg"], result["msg"]
    assert system_state(host) == before and served_version(host) == old
    flake.set_host("node02", fail="none")


def test_failed_health_check_rolls_back_then_a_good_one_keeps_it(fleet, flake, inventory):
    host = fleet["node02"]
    before, old = system_state(host), served_version(host)
    version = flake.bump("node02")
    bad = [
        {
            "name": "web says 999",
            "type": "http",
            "url": "http://{{ ansible_host }}:8080/",
            "body": "{{ inventory_hostname }} 999",
            "retries": 1,
            "delay": 0.2,
        }
    ]
    run = run_playbook(inventory, "deploy.yml", limit="node02", extra_vars=dict(FAST, nixos_deploy_health_checks=bad))
    assert run.rc == 2
    assert "health checks failed" in run.results("Fail the host")["node02"]["msg"]
    after_the_confirm_window()
    assert system_state(host) == before and served_version(host) == old
    good = [dict(bad[0], body="{{ inventory_hostname }} " + version)]
    ok = run_playbook(inventory, "deploy.yml", limit="node02", extra_vars=dict(FAST, nixos_deploy_health_checks=good))
    assert ok.rc == 0, failures(ok)
    after_the_confirm_window()
    assert served_version(host) == version


def test_rollback_playbook(fleet, flake, inventory):
    host = fleet["node01"]
    flake.bump("node01")  # a second generation at least
    assert run_playbook(inventory, "deploy.yml", limit="node01", extra_vars=FAST).rc == 0
    before = system_state(host)
    run = run_playbook(inventory, "rollback.yml", limit="node01", extra_vars=FAST)
    assert run.rc == 0, failures(run)
    result = run.results("Roll back the system profile")["node01"]
    assert result["changed"] is True
    after_the_confirm_window()
    assert system_state(host)[1] == result["path"] != before[1]
    forward = run_playbook(inventory, "deploy.yml", limit="node01", extra_vars=FAST)
    assert forward.rc == 0, failures(forward)
    after_the_confirm_window()
    assert system_state(host)[1] == before[1]


def test_the_deploy_lock_names_its_holder(fleet, flake, inventory):
    host = fleet["node01"]
    before = system_state(host)
    with holding_lock(host, "/nix/var/nix/nixfleet-deploy.lock", "someone-else-deploying"):
        flake.bump("node01")
        blocked = run_playbook(
            inventory, "deploy.yml", limit="node01", extra_vars=dict(FAST, nixos_deploy_lock_timeout=2)
        )
        assert blocked.rc == 2
        msg = blocked.results("Copy and switch to the system")["node01"]["msg"]
        assert (
            "another deploy holds the lock /nix/var/nix/nixfleet-deploy.lock (waited 2s): someone-else-deploying" in msg
        )
        assert system_state(host) == before
    assert run_playbook(inventory, "deploy.yml", limit="node01", extra_vars=FAST).rc == 0


def test_facts_as_deploy(fleet, inventory, tmp_path):
    play = [{"hosts": SWITCHED, "gather_facts": False, "tasks": [{"name": "facts", "nixfleet.nixos.facts": {}}]}]
    playbook = tmp_path / "facts.yml"
    playbook.write_text(yaml.safe_dump(play))
    run = run_playbook(inventory, str(playbook), extra_vars=with_password(fleet))
    assert run.rc == 0, failures(run)
    results = run.results("facts")
    assert sorted(results) == ["node01", "node02", "node03"]
    for name, result in results.items():
        nixos = result["ansible_facts"]["nixos"]
        host = fleet[name]
        assert (nixos["running_system"] or "") == inside(host, "readlink /run/current-system || true").strip(), name
        links = inside(host, "cd /nix/var/nix/profiles && ls -d system-*-link 2>/dev/null || true").split()
        assert sorted(g["number"] for g in nixos["generations"]) == sorted(int(link.split("-")[1]) for link in links), (
            name
        )


def test_a_wrong_sudo_password_changes_nothing(fleet, flake, inventory):
    host = fleet["node03"]
    before, old = system_state(host), served_version(host)
    flake.bump("node03")
    wrong = run_playbook(
        inventory, "deploy.yml", limit="node03", extra_vars=dict(FAST, ansible_become_password="wrong-password")
    )
    assert wrong.rc == 2
    assert any("password" in str(msg).lower() for _task, _host, msg in failures(wrong)), failures(wrong)
    after_the_confirm_window()
    assert system_state(host) == before and served_version(host) == old


def test_a_sudo_password_asked_on_the_terminal_never_shows(fleet, flake, inventory):
    host = fleet["node03"]
    version = flake.bump("node03")
    rc, shown = run_playbook_on_a_terminal(
        inventory,
        "deploy.yml",
        "--ask-become-pass",
        "-vvv",
        "--diff",
        "-l",
        "node03",
        "-e",
        json.dumps(FAST),
        answers={"BECOME password:": host.password},
    )
    assert rc == 0, shown[-4000:]
    assert leaked_lines(shown, [host.password]) == []
    after_the_confirm_window()
    assert served_version(host) == version


def test_a_sudo_password_from_variables_never_shows(fleet, flake, inventory):
    host = fleet["node03"]
    version = flake.bump("node03")
    rc, out = run_playbook_text(
        inventory, "deploy.yml", "-vvv", "--diff", "-l", "node03", extra_vars=with_password(fleet)
    )
    assert rc == 0, out[-4000:]
    assert leaked_lines(out, [host.password]) == []
    after_the_confirm_window()
    assert served_version(host) == version
    # Every task result as the JSON callback (and so AWX's job events) carries it, with --diff.
    flake.bump("node03")
    run = run_playbook(inventory, "deploy.yml", "--diff", limit="node03", extra_vars=with_password(fleet))
    assert run.rc == 0, failures(run)
    assert host.password not in json.dumps(run.data)


def test_become_method_su_with_roots_password(fleet, flake, inventory):
    host = fleet["node01"]
    before, old = system_state(host), served_version(host)
    flake.bump("node01")
    wrong = run_playbook(
        inventory,
        "deploy.yml",
        limit="node01",
        extra_vars=dict(FAST, ansible_become_method="su", ansible_become_password="wrong-password"),
    )
    assert wrong.rc == 2
    assert any("password" in str(msg).lower() for _task, _host, msg in failures(wrong)), failures(wrong)
    assert system_state(host) == before and served_version(host) == old
    rc, out = run_playbook_text(
        inventory,
        "deploy.yml",
        "-vvv",
        "-l",
        "node01",
        extra_vars=dict(FAST, ansible_become_method="su", ansible_become_password=host.root_password),
    )
    assert rc == 0, out[-4000:]
    assert leaked_lines(out, [host.root_password]) == []
    after_the_confirm_window()
    assert served_version(host) != old and system_state(host)[1] != before[1]


def test_an_untrusted_user_pushes_signed_closures_only(fleet, flake, inventory, tmp_path):
    host = fleet["node04"]  # Nix does not trust its deploy user
    flake.bump("node04")
    unsigned = run_playbook(inventory, "deploy.yml", limit="node04", extra_vars=FAST)
    assert unsigned.rc == 2
    msg = unsigned.results("Copy and switch to the system")["node04"]["msg"]
    assert "the host's Nix does not trust deploy (it is not in trusted-users)" in msg, msg
    assert "nix store sign" in msg and "trusted-users" in msg and "nothing was switched" in msg
    assert inside(host, "readlink /run/current-system || echo none").strip() == "none"
    # The host trusts the controller's key (nix_conf as deploy with sudo restarts its nix-daemon) ...
    secret, public = tmp_path / "ctl.sec", tmp_path / "ctl.pub"
    subprocess.run(
        ["nix-store", "--generate-binary-cache-key", "nixfleet-become-test", str(secret), str(public)], check=True
    )
    trust = run_task(
        inventory, "node04", "nixfleet.nixos.nix_conf", {"extra_trusted_public_keys": [public.read_text().strip()]}
    )
    assert trust.rc == 0, failures(trust)
    assert trust.results("task under test")["node04"]["daemon_restarted"] is True
    # ... and the closure is signed with it: the push lands, signatures and all.
    path = flake.build("node04")
    subprocess.run(["nix", "store", "sign", "--key-file", str(secret), "--recursive", path], check=True)
    signed = run_playbook(inventory, "deploy.yml", limit="node04", extra_vars=dict(FAST, nixos_deploy_check_sigs=True))
    assert signed.rc == 0, failures(signed)
    after_the_confirm_window()
    assert system_state(host)[1] == path
    assert "nixfleet-become-test:" in inside(
        host,
        "nix-store -q --hash %s >/dev/null; "
        "nix --extra-experimental-features nix-command path-info --sigs %s" % (path, path),
    )


def test_a_host_whose_nix_daemon_is_down_is_a_clear_error(fleet, flake, inventory):
    host = fleet["node01"]
    before, old = system_state(host), served_version(host)
    stop_processes(host, "nix-daemon")
    try:
        flake.bump("node01")
        run = run_playbook(inventory, "deploy.yml", limit="node01", extra_vars=FAST)
        assert run.rc == 2
        msg = run.results("Copy and switch to the system")["node01"]["msg"]
        assert msg.startswith(
            "node01: the copy logged in as deploy, but Nix there could not talk to the host's nix-daemon"
        ), msg
        assert "is nix-daemon running on the host" in msg and "nothing was switched" in msg
        assert system_state(host) == before and served_version(host) == old
    finally:
        inside(
            host,
            "(env -u NIX_CONFIG setsid nix-daemon </dev/null >>/nix/var/log/nix-daemon.log 2>&1 &); "
            "until nix-store --store daemon -q --hash %s >/dev/null 2>&1; do sleep 0.1; done" % before[1],
        )
    again = run_playbook(inventory, "deploy.yml", limit="node01", extra_vars=FAST)
    assert again.rc == 0, failures(again)
