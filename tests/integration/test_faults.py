"""The fault suite: what goes wrong in real deploys, and what the user sees. Nothing may be lost.

Each test starts from the fleet's current state and leaves every host on a good generation. Here the
hosts are namespace hosts logged into as root; test_systemd_faults.py runs the same tests on systemd
hosts as a sudo deploy user (the ``kind`` fixture says which).
"""

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, List

import pytest

import nsfleet
from fleetctl import (
    FixtureFlake,
    holding_lock,
    inside,
    running_fleet,
    served_version,
    ssh,
    start_sshd,
    stop_nix_mid_copy,
    stop_sshd,
    system_state,
    target,
)
from playbook_helpers import failures, run_playbook, write_fleet_inventory

pytestmark = pytest.mark.integration

SHAPES = {"node01": "colmena", "node02": "deploy-rs", "node03": "colmena", "node04": "plain"}
FAST = {"nixos_deploy_confirm_timeout": 5}


@dataclass
class FaultFleet:
    """Where and how the fault suite's hosts run: the fleet's first address, the full-store test's
    address, and whether they are systemd hosts reached as a sudo ``deploy`` user."""

    first_address: str
    small_address: str
    systemd: bool = False

    def up_options(self, names: List[str]) -> Dict:
        """nsfleet.up's options for hosts ``names``: node03 without Python, or systemd and deploy users."""
        if self.systemd:
            return {"systemd": True, "deploy_users": {name: nsfleet.DeployUser("nopasswd") for name in names}}
        return {"no_python": [name for name in names if name == "node03"]}


@pytest.fixture(scope="module")
def kind():
    return FaultFleet("127.0.12.11", "127.0.13.11")


@pytest.fixture(scope="module")
def fleet(kind, tmp_path_factory):
    names = ["node01", "node02", "node03", "node04"]
    with running_fleet(
        tmp_path_factory.mktemp("faults") / "state",
        4,
        first_address=kind.first_address,
        names=names,
        **kind.up_options(names),
    ) as f:
        yield f


@pytest.fixture(scope="module")
def flake(fleet, tmp_path_factory):
    return FixtureFlake.create(tmp_path_factory.mktemp("faults-flake") / "flake", fleet, SHAPES)


@pytest.fixture(scope="module")
def inventory(fleet, flake, tmp_path_factory):
    inv = write_fleet_inventory(tmp_path_factory.mktemp("faults-inventory"), fleet, flake)
    first = run_playbook(inv, "deploy.yml", extra_vars=FAST)
    assert first.rc == 0, first.results("Copy and switch to the system")
    return inv


def test_1_unreachable_host_does_not_stop_the_others(fleet, flake, inventory):
    down = fleet["node04"]
    try:
        stop_sshd(down)
        versions = {n: flake.bump(n) for n in ("node01", "node02", "node04")}
        run = run_playbook(inventory, "deploy.yml", extra_vars=FAST)
        assert run.rc == 4, [(t, r.get("node04")) for t in ("Read the host", "Copy") for r in run.all_results(t)]
        assert run.stats("node04")["unreachable"] >= 1
        assert (
            served_version(fleet["node01"]) == versions["node01"]
            and served_version(fleet["node02"]) == versions["node02"]
        )
        assert run.stats("node01")["failures"] == 0 and run.stats("node02")["failures"] == 0
    finally:
        start_sshd(down)
    assert run_playbook(inventory, "deploy.yml", extra_vars=FAST).rc == 0
    assert served_version(down) == versions["node04"]


def test_2_failed_activation_leaves_the_previous_generation(fleet, flake, inventory):
    host = fleet["node01"]
    before, old = system_state(host), served_version(host)
    flake.bump("node01", fail="fail")
    run = run_playbook(inventory, "deploy.yml", limit="node01", extra_vars=FAST)
    assert run.rc == 2
    result = run.results("Copy and switch to the system")["node01"]
    assert result["rolled_back"] is True and "rolled back to generation" in result["msg"]
    assert system_state(host) == before and served_version(host) == old
    flake.set_host("node01", fail="none")


def test_3_exit_code_4_is_reported(fleet, flake, inventory):
    flake.bump("node02", fail="exit4")
    # With a --limit the copy-and-switch play's last batch reports (its result is under node02)
    run = run_playbook(inventory, "deploy.yml", limit="node02:localhost", extra_vars=FAST)
    assert run.rc == 0
    result = run.results("Copy and switch to the system")["node02"]
    assert result["failed_units"] is True and result["exit_code"] == 4
    summarized = list(run.results("Summarize the deploy per host").values())
    assert len(summarized) == 1
    rows = {r["host"]: r for r in summarized[0]["report"]}
    assert rows["node02"]["result"] == "SOME UNITS FAILED"
    flake.set_host("node02", fail="none")


def test_4_generation_that_kills_sshd_rolls_itself_back(fleet, flake, inventory):
    host = fleet["node02"]
    before, old = system_state(host), served_version(host)
    flake.bump("node02", fail="kill-sshd")
    started = time.monotonic()
    run = run_playbook(inventory, "deploy.yml", limit="node02", extra_vars=FAST)
    assert run.rc == 2
    result = run.results("Copy and switch to the system")["node02"]
    assert "lost contact, target rolled itself back" in result["msg"]
    assert "no fresh ssh connection to the host within 5s" in result["msg"]
    assert result["rolled_back"] is True
    assert time.monotonic() - started >= 5  # the watchdog waited for confirmation
    assert system_state(host) == before and served_version(host) == old
    assert ssh(host, "hostname").stdout.strip() == "node02"  # sshd is back
    flake.set_host("node02", fail="none")


def test_5_failed_health_check_rolls_back(fleet, flake, inventory):
    host = fleet["node03"]  # no Python
    before, old = system_state(host), served_version(host)
    flake.bump("node03")
    checks: List[Dict[str, Any]] = [
        {
            "name": "web says 999",
            "type": "http",
            "url": "http://{{ ansible_host }}:8080/",
            "body": "{{ inventory_hostname }} 999",
            "retries": 2,
            "delay": 0.2,
        },
        {"name": "true", "type": "cmd", "argv": ["true"]},
        {"type": "systemd"},
    ]
    run = run_playbook(
        inventory, "deploy.yml", limit="node03", extra_vars=dict(FAST, nixos_deploy_health_checks=checks)
    )
    assert run.rc == 2
    health = run.results("Check the host's health")["node03"]
    assert [c["ok"] for c in health["checks"]] == [False, True, True]
    assert health["checks"][0]["attempts"] == 3
    assert "health checks failed" in run.results("Fail the host")["node03"]["msg"]
    assert system_state(host) == before and served_version(host) == old
    # The same checks, right this time, pass and keep the new generation.
    good = [
        dict(
            checks[0],
            name="web says its version",
            body="{{ inventory_hostname }} " + flake.data["hosts"]["node03"]["version"],
        )
    ]
    ok = run_playbook(inventory, "deploy.yml", limit="node03", extra_vars=dict(FAST, nixos_deploy_health_checks=good))
    assert ok.rc == 0, ok.results("Check the host's health")
    assert served_version(host) == flake.data["hosts"]["node03"]["version"]


def test_5_json_health_checks_with_jmespath(fleet, flake, inventory):
    host = fleet["node03"]  # no Python; the request comes from the controller, then from the target
    before, old = system_state(host), served_version(host)
    version = flake.bump("node03")
    errors = [
        {
            "name": "no errors",
            "type": "http",
            "url": "http://{{ ansible_host }}:8080/health.json",
            "json_query": "length(errors) > `0`",
            "retries": 1,
            "delay": 0.2,
        }
    ]
    run = run_playbook(
        inventory, "deploy.yml", limit="node03", extra_vars=dict(FAST, nixos_deploy_health_checks=errors)
    )
    assert run.rc == 2
    msg = run.results("Check the host's health")["node03"]["msg"]
    assert "json_query 'length(errors) > `0`' is false for the body" in msg, msg
    assert '"version": "%s"' % version in msg  # the body it judged: the new generation's
    assert system_state(host) == before and served_version(host) == old
    good = [
        {
            "name": "reports ok and its version",
            "type": "http",
            "from": source,
            "url": "http://{{ ansible_host }}:8080/health.json",
            "json_query": "status == 'ok' && version == '%s' && length(errors) == `0`" % version,
        }
        for source in ("controller", "target")
    ]
    ok = run_playbook(inventory, "deploy.yml", limit="node03", extra_vars=dict(FAST, nixos_deploy_health_checks=good))
    assert ok.rc == 0, failures(ok)
    assert [c["ok"] for c in ok.results("Check the host's health")["node03"]["checks"]] == [True, True]
    assert served_version(host) == version


def test_6_interrupted_copy_then_next_run_completes(fleet, flake, inventory):
    host = fleet["node01"]
    version = flake.bump("node01", payload_kib=65536)
    path = flake.build("node01")
    t = target(host)
    # Interrupted as Ctrl-C or a dying controller does it: nix and its ssh client at once (an ssh
    # client left behind would keep the host's half-done copy, and its path locks, alive).
    copy = subprocess.Popen(
        ["nix", "copy", "--no-check-sigs", "--to", t.store_url(), path],
        env=dict(os.environ, **t.nix_env()),
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(0.5)
    os.killpg(copy.pid, signal.SIGKILL)
    copy.wait()
    run = run_playbook(inventory, "deploy.yml", limit="node01", extra_vars=FAST)
    assert run.rc == 0, run.results("Copy and switch to the system")
    assert served_version(host) == version
    verify = ssh(host, "nix-store --verify --check-contents 2>&1; echo rc=$?")
    assert verify.stdout.strip().endswith("rc=0") and "corrupt" not in verify.stdout and "error" not in verify.stdout
    flake.set_host("node01", payload_kib=0)


def test_7_two_deploys_at_once(fleet, flake, inventory):
    host = fleet["node02"]
    links_before = inside(host, "ls /nix/var/nix/profiles | grep -c '^system-.*-link$'").strip()
    version = flake.bump("node02")
    runs = []
    threads = [
        threading.Thread(
            target=lambda: runs.append(run_playbook(inventory, "deploy.yml", limit="node02", extra_vars=FAST))
        )
        for _attempt in range(2)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert all(r.rc == 0 for r in runs), [failures(r) for r in runs]
    switches = [r.results("Copy and switch to the system")["node02"] for r in runs]
    # one switched, the other had nothing to switch (both may have found the system missing and copied:
    # the copy lock let the second copy only what was still missing)
    assert sorted(s["switched"] for s in switches) == [False, True]
    assert served_version(host) == version
    assert int(inside(host, "ls /nix/var/nix/profiles | grep -c '^system-.*-link$'").strip()) == int(links_before) + 1
    # A lock held by someone else: wait, then fail naming the holder.
    with holding_lock(host, "/nix/var/nix/nixfleet-deploy.lock", "someone-else-deploying"):
        flake.bump("node02")
        blocked = run_playbook(
            inventory, "deploy.yml", limit="node02", extra_vars=dict(FAST, nixos_deploy_lock_timeout=2)
        )
        assert blocked.rc == 2
        msg = blocked.results("Copy and switch to the system")["node02"]["msg"]
        assert (
            "another deploy holds the lock /nix/var/nix/nixfleet-deploy.lock (waited 2s): someone-else-deploying" in msg
        )
        assert served_version(host) == version
    assert run_playbook(inventory, "deploy.yml", limit="node02", extra_vars=FAST).rc == 0


def test_8_full_store_is_a_clear_error_and_changes_nothing(kind, tmp_path):
    with running_fleet(
        tmp_path / "state",
        1,
        first_address=kind.small_address,
        names=["node01"],
        nix_tmpfs={"node01": "24M"},
        **kind.up_options(["node01"]),
    ) as small:
        flake = FixtureFlake.create(tmp_path / "flake", small, {"node01": "colmena"})
        inv = write_fleet_inventory(tmp_path / "inventory", small, flake)
        assert run_playbook(inv, "deploy.yml", extra_vars=FAST).rc == 0
        host = small["node01"]
        before = system_state(host)
        flake.bump("node01", payload_kib=40960)
        run = run_playbook(inv, "deploy.yml", extra_vars=FAST)
        assert run.rc == 2
        msg = run.results("Copy and switch to the system")["node01"]["msg"]
        assert msg.startswith("node01: nix copy to ssh-ng://%s@%s failed" % (host.user, kind.small_address)), msg
        assert "No space left on device" in msg
        assert system_state(host) == before and served_version(host) == "1"


def test_9_failed_canary_stops_later_batches(fleet, flake, inventory):
    before = {n: system_state(fleet[n]) for n in ("node02", "node03", "node04")}
    flake.bump("node01", fail="fail")
    for name in ("node02", "node03", "node04"):
        flake.bump(name)
    run = run_playbook(
        inventory,
        "deploy.yml",
        extra_vars=dict(FAST, nixos_deploy_serial=[1, "100%"], nixos_deploy_max_fail_percentage=0),
    )
    assert run.rc == 2
    assert run.results("Copy and switch to the system")["node01"]["rolled_back"] is True
    switched = set()
    for results in run.all_results("Copy and switch to the system"):
        switched |= set(results)
    assert switched == {"node01"}  # the later batch never started
    assert {n: system_state(fleet[n]) for n in before} == before
    flake.set_host("node01", fail="none")
    assert run_playbook(inventory, "deploy.yml", extra_vars=FAST).rc == 0


STALL = 3  # seconds without progress before the copy is stopped (nixos_deploy_copy_stall_timeout)


def test_10_a_stalled_copy_fails_naming_what_is_missing_and_the_next_run_resumes(fleet, flake, inventory):
    host = fleet["node01"]
    before, old = system_state(host), served_version(host)
    version = flake.bump("node01", payload_kib=65536)
    path = flake.build("node01")
    runs = []
    deploy = threading.Thread(
        target=lambda: runs.append(
            run_playbook(
                inventory, "deploy.yml", limit="node01", extra_vars=dict(FAST, nixos_deploy_copy_stall_timeout=STALL)
            )
        )
    )
    deploy.start()
    copy_end, stopped = stop_nix_mid_copy(host)
    try:
        assert copy_end and stopped, "no copy to stop"
        started = time.monotonic()
        deploy.join(timeout=240)
        assert not deploy.is_alive(), "the stalled deploy still hangs"
        assert time.monotonic() - started < 120
        [run] = runs
        assert run.rc == 2
        msg = run.results("Copy and switch to the system")["node01"]["msg"]
        assert "made no progress for %d s (copy_stall_timeout) and was stopped" % STALL in msg, msg
        assert "and was sending %s;" % path in msg, msg  # how far it got
        assert "the host still lacks 1 path: %s;" % path in msg, msg  # what is missing
        assert "nothing was switched" in msg
        assert system_state(host) == before and served_version(host) == old
        assert inside(host, "nix-store --check-validity %s 2>&1 || echo missing" % path).strip().endswith("missing")
        # The copy's own end on the host (found by its token) is gone: through a daemon, its proxy would
        # keep the daemon's worker, and the path's lock, for ever.
        assert (
            inside(
                host,
                's=$(cut -d\' \' -f3 /proc/%s/stat 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ] && echo alive '
                "|| echo gone" % copy_end,
            ).strip()
            == "gone"
        )
    finally:
        inside(host, "kill -CONT %s 2>/dev/null; true" % stopped)  # the host's Nix answers again
    # Paths that arrived stay; the next run copies the rest and switches.
    run = run_playbook(
        inventory, "deploy.yml", limit="node01", extra_vars=dict(FAST, nixos_deploy_copy_stall_timeout=STALL)
    )
    assert run.rc == 0, failures(run)
    assert served_version(host) == version and system_state(host)[1] == path
    flake.set_host("node01", payload_kib=0)
