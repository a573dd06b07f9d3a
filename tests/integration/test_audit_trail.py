"""The audit trail on the fleet: every deploy and rollback appends a record to the host's
/nix/var/nixfleet/audit.log (written by the host's transaction script, with the outcome); facts read
them back; the deploy report says who deployed; verify.yml flags a running system no record
explains. node02 has no Python."""

import getpass
import json
import socket
import time

import pytest

from fleetctl import inside
from fleet_fixtures import own_fleet, fleet_flake, fleet_inventory
from playbook_helpers import failures, run_playbook, run_playbook_text, run_task

pytestmark = pytest.mark.integration

LOG = "/nix/var/nixfleet/audit.log"
ME = "%s@%s" % (getpass.getuser(), socket.gethostname())
HOSTILE = 'o\'neil "$(touch /tmp/pwned)" `touch /tmp/pwned`; é'


fleet = own_fleet("audit", 2, ["node02"], "127.0.26.11")
flake = fleet_flake("audit", {})
inventory = fleet_inventory("audit")


def records(host):
    """Every line of the host's audit log, each parsed as JSON (each must be)."""
    return [json.loads(line) for line in inside(host, "cat %s 2>/dev/null || true" % LOG).splitlines()]


def facts(inventory):
    run = run_task(inventory, "all", "nixfleet.nixos.facts")
    assert run.rc == 0, failures(run)
    return {h: r["ansible_facts"]["nixos"] for h, r in run.results("task under test").items()}


def deploy(inventory, **extra):
    return run_playbook(inventory, "deploy.yml", extra_vars=dict({"nixos_deploy_confirm_timeout": 5}, **extra))


def test_a_deploy_is_on_record_with_who_when_and_how_it_ended(fleet, inventory):
    started = int(time.time())
    run = deploy(inventory, awx_job_id=42, awx_user_name=HOSTILE)
    assert run.rc == 0, failures(run)
    seen = facts(inventory)
    shown = run_task(inventory, "all", "ansible.builtin.debug", {"var": "nixos_flake"}).results("task under test")
    locked = {h: r["nixos_flake"] for h, r in shown.items()}  # the inventory's locked flake ref
    assert all("narHash=" in ref for ref in locked.values())
    for host in fleet.hosts:
        running = inside(host, "readlink /run/current-system").strip()
        generation = int(inside(host, "readlink /nix/var/nix/profiles/system").strip().split("-")[1])
        last = records(host)[-1]
        assert {
            k: last[k]
            for k in (
                "host",
                "kind",
                "action",
                "path",
                "previous",
                "previous_generation",
                "status",
                "rc",
                "generation",
                "by",
                "awx_job",
                "awx_user",
            )
        } == {
            "host": host.name,
            "kind": "deploy",
            "action": "switch",
            "path": running,
            "previous": None,
            "previous_generation": None,
            "status": "confirmed",
            "rc": 0,
            "generation": generation,
            "by": ME,
            "awx_job": "42",
            "awx_user": HOSTILE,
        }
        assert last["flake"] == locked[host.name] and started <= last["time"] <= time.time() + 1
        assert seen[host.name]["deployments"][-1] == last
        assert seen[host.name]["running_system_deployed_by"] == last
        assert inside(host, "[ -e /tmp/pwned ] && echo yes || echo no").strip() == "no"
    summary = "\n".join(run.results("Show the deploy summary")["localhost"]["msg"])
    assert "Deployed by %s, AWX job 42 by %s (in each host's audit log)" % (ME, HOSTILE) in summary
    assert run.results("Copy and switch to the system")["node02"]["deployed_by"] == "%s, AWX job 42 by %s" % (
        ME,
        HOSTILE,
    )


def test_an_unchanged_host_adds_no_record(fleet, inventory):
    before = {h.name: len(records(h)) for h in fleet.hosts}
    run = deploy(inventory)
    assert run.rc == 0, failures(run)
    assert {h.name: len(records(h)) for h in fleet.hosts} == before


def test_a_failed_activation_and_a_rollback_are_on_record(fleet, flake, inventory):
    host = fleet["node02"]
    first = inside(host, "readlink /run/current-system").strip()
    flake.bump("node02", fail="fail")
    failed = deploy(inventory)
    assert failed.rc != 0
    last = records(host)[-1]
    assert (last["status"], last["previous"], last["kind"]) == ("failed-restored", first, "deploy")
    assert last["rc"] not in (0, None) and last["path"] != first
    # The host went back to what it ran: the failed deploy's record says so, and explains it.
    assert facts(inventory)["node02"]["running_system_deployed_by"] == last
    flake.bump("node02", fail="none")
    assert deploy(inventory).rc == 0
    second = inside(host, "readlink /run/current-system").strip()
    back = run_playbook(inventory, "rollback.yml", extra_vars={"nixos_rollback_hosts": "node02"})
    assert back.rc == 0, failures(back)
    last = records(host)[-1]
    assert (last["kind"], last["action"], last["path"], last["previous"], last["status"]) == (
        "rollback",
        "switch",
        first,
        second,
        "confirmed",
    )
    assert last["generation"] < last["previous_generation"]  # back to an older generation
    assert back.results("Roll back the system profile")["node02"]["deployed_by"] == ME


def test_verify_flags_a_running_system_no_deploy_put_there(fleet, inventory):
    assert deploy(inventory).rc == 0
    rc, out = run_playbook_text(inventory, "verify.yml")
    assert rc == 0 and out.count("put there by %s" % ME) == 2, out
    host = fleet["node01"]
    deployed = inside(host, "readlink /run/current-system").strip()
    by_hand = inside(host, "f=$(mktemp -d)/by-hand; echo x > $f; nix-store --add $f").strip()
    inside(host, "ln -sfn %s /run/current-system" % by_hand)  # someone ran another system by hand
    try:
        rc, out = run_playbook_text(inventory, "verify.yml")
        assert rc == 0 and "node01: DRIFT" in out and "UNEXPLAINED: no deploy in the audit log" in out, out
        assert out.count("UNEXPLAINED") == 1
        rc, out = run_playbook_text(inventory, "verify.yml", extra_vars={"nixos_verify_fail_on_unexplained": True})
        assert rc != 0 and "node01 runs %s, which no deploy in its audit log" % by_hand in out, out
        assert "node02 runs" not in out
    finally:
        inside(host, "ln -sfn %s /run/current-system" % deployed)


def log_lines(host, name=LOG):
    return [json.loads(line) for line in inside(host, "cat %s 2>/dev/null || true" % name).splitlines()]


def test_the_log_is_bounded_and_read_across_its_rotation(fleet, flake, inventory):
    """Written past the cap (nixos_deploy_audit_log_keep: 3): the host's own switch rotates the log to
    audit.log.1 once it holds 3 records, so the live log never holds more and the last 3 records are
    always kept; facts and verify.yml read across the rotation."""
    host, keep = fleet["node02"], 3  # no Python
    rotated = LOG + ".1"
    written = log_lines(host, rotated) + log_lines(host)

    def deploy_node02(**extra):
        flake.bump("node02")
        run = run_playbook(
            inventory,
            "deploy.yml",
            limit="node02",
            extra_vars=dict({"nixos_deploy_confirm_timeout": 5, "nixos_deploy_audit_log_keep": keep}, **extra),
        )
        assert run.rc == 0, failures(run)
        live, old = log_lines(host), log_lines(host, rotated)
        written.append(live[-1])
        assert len(live) <= keep  # bounded
        assert (old + live)[-keep:] == written[-keep:]  # at least the last `keep`, in order
        return live, old

    # Switches until the log rotated and then filled up again to `keep` records.
    for _attempt in range(2 * keep + 2):
        live, old = deploy_node02()
        if old and len(live) == keep:
            break
    assert old and len(live) == keep, (old, live)
    explaining = live[-1]
    # The next change, a boot entry only (it runs nothing new), rotates the log: the live log holds only it.
    live, old = deploy_node02(nixos_deploy_action="boot")
    assert [r["action"] for r in live] == ["boot"] and old[-1] == explaining
    assert [f for f in inside(host, "ls /nix/var/nixfleet").split() if f.startswith("audit")] == [
        "audit.log",
        "audit.log.1",
    ]  # one rotated log, no more
    # What the host runs is explained by a record of the rotated log.
    seen = facts(inventory)["node02"]
    assert seen["deployments"][-2:] == [explaining, live[-1]]
    assert seen["running_system_deployed_by"] == explaining
    rc, out = run_playbook_text(inventory, "verify.yml", "--limit", "node02")
    assert rc == 0 and "put there by %s" % ME in out and "UNEXPLAINED" not in out, out
    # A bound below one record is refused before anything changes.
    before = inside(host, "readlink /run/current-system; readlink /nix/var/nix/profiles/system")
    flake.bump("node02")
    bad = run_playbook(inventory, "deploy.yml", limit="node02", extra_vars={"nixos_deploy_audit_log_keep": 0})
    assert bad.rc == 2 and "audit_log_keep must be at least 1 record, not 0" in json.dumps(failures(bad))
    assert inside(host, "readlink /run/current-system; readlink /nix/var/nix/profiles/system") == before
    assert deploy_node02()[0][-1]["action"] == "switch"  # and the host runs its flake's system again
