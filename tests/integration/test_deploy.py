"""playbooks/deploy.yml and playbooks/rollback.yml end to end on a fleet of their own.

A scenario: the tests are its numbered steps (test_01_... to test_17_...), run in that order, each
building on the end state of the ones before, like successive deploys would. Run the module whole
(``-k`` on one step alone finds the fleet in another state).
"""

import json
import subprocess
import uuid

import pytest

from fleetctl import http_get, inside, path_info, valid_on_controller
from fleet_fixtures import own_fleet, fleet_flake, fleet_inventory
from playbook_helpers import run_playbook, run_task

pytestmark = pytest.mark.integration

SHAPES = {"node01": "colmena", "node02": "deploy-rs", "node03": "plain", "node04": "colmena"}
ALL = ["node01", "node02", "node03", "node04"]


fleet = own_fleet("deploy", 4, ["node04"], "127.0.11.11")
flake = fleet_flake("deploy", SHAPES)
inventory = fleet_inventory("deploy")


def host_state(host):
    return {
        "profile": inside(host, "readlink /nix/var/nix/profiles/system").strip(),
        "running": inside(host, "readlink /run/current-system").strip(),
        "links": sorted(inside(host, "cd /nix/var/nix/profiles && ls -d system-*-link").split()),
    }


def test_01_first_deploy_puts_every_host_on_its_system(fleet, flake, inventory):
    # (other suites may have built the same fixture systems already)
    unbuilt = [h.name for h in fleet.hosts if not valid_on_controller(flake.out_path(h.name))]
    run = run_playbook(inventory, "deploy.yml")
    assert run.rc == 0, run.stderr
    build = run.results("Build every host's system with one nix build")
    assert len(build) == 1  # run once
    result = list(build.values())[0]
    # two evals (two hosts alone, measured, then two), one path-info (what is built already, closure sizes
    # from the controller's store); for what is not, one build of the derivations and one path-info
    expected = ["eval", "eval", "path-info"] + (["build", "path-info"] if unbuilt else [])
    assert result["nix_calls"] == expected and result["failed_hosts"] == {}
    for host in fleet.hosts:
        path = flake.out_path(host.name)
        assert result["paths"][host.name] == path
        closure = subprocess.run(
            ["nix-store", "-qR", path], stdout=subprocess.PIPE, universal_newlines=True, check=True
        ).stdout.split()
        sizes = subprocess.run(
            ["nix-store", "-q", "--size"] + closure, stdout=subprocess.PIPE, universal_newlines=True, check=True
        ).stdout.split()
        assert result["closure_sizes"][host.name] == sum(int(s) for s in sizes)
        assert host_state(host) == {"profile": "system-1-link", "running": path, "links": ["system-1-link"]}
        assert http_get(host) == "%s 1\n" % host.name
        assert run.stats(host.name)["changed"] >= 1 and run.stats(host.name)["failures"] == 0
        switched = run.results("Copy and switch to the system")[host.name]
        # one task copied the closure (the host had no system) and switched to it
        assert switched["copied"] is True and switched["switched"] is True and switched["mode"] == "push"
        # magic rollback: confirmed over a fresh ssh connection
        assert switched["confirmation"] == "confirmed"
    assert inside(fleet["node04"], "command -v python3 || echo none").strip() == "none"


def test_02_second_run_changes_and_copies_nothing(fleet, inventory):
    run = run_playbook(inventory, "nixfleet.nixos.deploy")  # by FQCN, as AWX and users may
    assert run.rc == 0, run.stderr
    for name in ALL:
        assert run.stats(name)["changed"] == 0, name
    assert all(r["copied"] is False for r in run.results("Copy and switch to the system").values())


def test_03_deploy_report_files(fleet, flake, inventory, tmp_path):
    run = run_playbook(inventory, "deploy.yml", extra_vars={"nixos_deploy_report_dir": str(tmp_path / "report")})
    assert run.rc == 0, run.stderr
    rows = {row["host"]: row for row in json.loads((tmp_path / "report" / "deploy-report.json").read_text())}
    assert sorted(rows) == ALL
    for name in ALL:
        path = flake.out_path(name)
        # The controller's own count of the closure's bytes, to compare with what the host summed.
        info = path_info(path, closure_size=True)
        assert rows[name]["result"] == "unchanged" and rows[name]["new_generation"] == 1
        assert rows[name]["path"] == path and rows[name]["closure_bytes"] == info["closureSize"]
        assert rows[name]["needs_reboot"] is False and rows[name]["seconds"] > 0
    markdown = (tmp_path / "report" / "deploy-report.md").read_text()
    assert markdown.startswith("# Deploy report") and "| node04 | unchanged | 1 |" in markdown
    table = run.results("Show the deploy summary")["localhost"]["msg"]
    assert table[0].split() == ["HOST", "RESULT", "GENERATION", "SYSTEM", "CLOSURE", "REBOOT", "HEALTH", "TIME"]


def test_04_a_limited_deploy_still_reports(inventory):
    """With --limit, localhost is not in the Summary play: the last batch reports, once, on the kept hosts."""
    run = run_playbook(inventory, "deploy.yml", limit="node01,node02", extra_vars={"nixos_deploy_serial": 1})
    assert run.rc == 0, run.stderr
    shown = run.all_results("Show the deploy summary")
    assert len(shown) == 1 and len(shown[0]) == 1, shown
    table = list(shown[0].values())[0]["msg"]
    assert [line.split()[0] for line in table[1:]] == ["node01", "node02"], table


def test_05_check_diff_shows_one_host_then_real_run_moves_only_it(fleet, flake, inventory):
    before = {h.name: host_state(h) for h in fleet.hosts}
    flake.set_host("node02", version="2")
    new = flake.out_path("node02")
    check = run_playbook(inventory, "deploy.yml", "--check", "--diff")
    assert check.rc == 0, check.stderr
    switch = check.results("Copy and switch to the system")
    assert switch["node02"]["changed"] is True
    diff = switch["node02"]["diff"]
    assert diff["after"].strip() == new and diff["before"].strip() == before["node02"]["running"]
    assert "nixos-system-node02: 1 → 2" in diff["prepared"]
    assert [n for n in ALL if check.stats(n)["changed"]] == ["node02"]
    assert {h.name: host_state(h) for h in fleet.hosts} == before
    # Check mode evaluates (two nix evals: two hosts, then two), builds nothing and copies nothing.
    build = list(check.results("Build every host's system with one nix build").values())[0]
    assert build["nix_calls"] == ["eval", "eval"] and build["built"] is False and build["paths"]["node02"] == new
    assert inside(fleet["node02"], "test -e %s && echo present || echo absent" % new).strip() == "absent"
    real = run_playbook(inventory, "deploy.yml", "--diff")
    assert real.rc == 0, real.results("Copy and switch to the system")
    assert [n for n in ALL if real.stats(n)["changed"]] == ["node02"]
    assert host_state(fleet["node02"]) == {
        "profile": "system-2-link",
        "running": new,
        "links": ["system-1-link", "system-2-link"],
    }
    assert "nixos-system-node02: 1 → 2" in real.results("Copy and switch to the system")["node02"]["diff"]["prepared"]
    assert http_get(fleet["node02"]) == "node02 2\n"
    for name in ("node01", "node03", "node04"):
        assert host_state(fleet[name]) == before[name]


def test_06_failing_activation_rolls_back_that_host_only(fleet, flake, inventory):
    before = host_state(fleet["node03"])
    flake.set_host("node03", version="3", fail="fail")
    flake.set_host("node01", version="2")
    run = run_playbook(inventory, "deploy.yml")
    assert run.rc != 0
    bad = run.results("Copy and switch to the system")["node03"]
    assert bad["failed"] and bad["rolled_back"] is True
    assert "activation (switch)" in bad["msg"] and "rolled back to generation 1" in bad["msg"]
    assert "fixture failure mode 'fail'" in bad["msg"]
    assert host_state(fleet["node03"]) == before  # profile, running system, no leftover generation
    assert http_get(fleet["node03"]) == "node03 1\n"
    assert run.stats("node03")["failures"] == 1
    assert host_state(fleet["node01"])["profile"] == "system-2-link"
    assert http_get(fleet["node01"]) == "node01 2\n"
    flake.set_host("node03", version="1", fail="none")


def test_07_exit_code_4_is_reported(fleet, flake, inventory):
    flake.set_host("node04", version="2", fail="exit4")
    run = run_playbook(inventory, "deploy.yml")
    assert run.rc == 0, run.stderr
    result = run.results("Copy and switch to the system")["node04"]
    assert result["failed_units"] is True and result["exit_code"] == 4
    assert any("some units failed (exit code 4)" in w for w in result.get("warnings", []))
    rows = {r["host"]: r for r in run.results("Summarize the deploy per host")["localhost"]["report"]}
    assert rows["node04"]["result"] == "SOME UNITS FAILED"
    assert host_state(fleet["node04"])["running"] == flake.out_path("node04")
    flake.set_host("node04", fail="none")


def test_08_build_and_eval_failures_fail_only_their_hosts(fleet, flake, inventory):
    flake.set_host("node01", version="3", fail="build")
    flake.set_host("node02", version="3", fail="eval")
    flake.set_host("node04", version="3")
    before = {n: host_state(fleet[n]) for n in ("node01", "node02")}
    run = run_playbook(inventory, "deploy.yml")
    assert run.rc != 0
    failed = run.results("Fail the hosts whose system does not evaluate or build")
    assert "fixture failure mode 'build'" in failed["node01"]["msg"] and "failed to build" in failed["node01"]["msg"]
    assert "does not evaluate" in failed["node02"]["msg"] and 'fail = "eval"' in failed["node02"]["msg"]
    assert {n: host_state(fleet[n]) for n in ("node01", "node02")} == before
    assert http_get(fleet["node04"]) == "node04 3\n"
    flake.set_host("node01", version="2", fail="none")
    flake.set_host("node02", version="2", fail="none")


def test_09_rollback_to_previous_and_to_n(fleet, flake, inventory):
    node02 = fleet["node02"]
    gen1, gen2 = host_state(node02)["links"], None
    assert gen1 == ["system-1-link", "system-2-link"]
    gen2 = host_state(node02)["running"]
    back = run_playbook(inventory, "rollback.yml", limit="node02")
    assert back.rc == 0, back.stderr
    state = host_state(node02)
    first = flake.out_path_with("node02", version="1", fail="none")  # generation 1's system
    assert state["profile"] == "system-1-link" and state["running"] == first
    assert http_get(node02) == "node02 1\n"
    again = run_playbook(inventory, "rollback.yml", limit="node02", extra_vars={"nixos_rollback_generation": 1})
    assert again.rc == 0 and again.stats("node02")["changed"] == 0
    forward = run_playbook(inventory, "rollback.yml", limit="node02", extra_vars={"nixos_rollback_generation": 2})
    assert forward.rc == 0, forward.stderr
    assert host_state(node02) == {
        "profile": "system-2-link",
        "running": gen2,
        "links": ["system-1-link", "system-2-link"],
    }
    missing = run_playbook(inventory, "rollback.yml", limit="node02", extra_vars={"nixos_rollback_generation": 9})
    assert missing.rc != 0
    assert "has no generation 9 (generations: 1, 2)" in missing.results("Roll back")["node02"]["msg"]


def test_10_facts_generations_running_booted_and_reboot(fleet, flake, inventory):
    run = run_task(inventory, "nixos", "nixfleet.nixos.facts")
    assert run.rc == 0, run.stderr
    facts = {h: r["ansible_facts"]["nixos"] for h, r in run.results("task under test").items()}
    node02 = facts["node02"]
    assert [g["number"] for g in node02["generations"]] == [1, 2]
    assert [g["current"] for g in node02["generations"]] == [False, True]
    assert node02["current_generation"] == 2 and node02["profile_path"] == flake.out_path("node02")
    assert node02["running_system"] == flake.out_path("node02")
    assert all(isinstance(g["date"], int) for g in node02["generations"])
    assert node02["booted_system"] is None and node02["needs_reboot"] is False
    own = inside(fleet["node02"], "nix-env --version").split()[-1]  # the host's own Nix, whichever Debian's
    assert node02["systemd"] is False and node02["nix_version"] == own and own[0].isdigit()
    assert facts["node04"]["running_system"] == flake.out_path("node04")  # no Python there
    # A host booted into an older kernel needs a reboot.
    host = fleet["node02"]
    inside(
        host,
        "mkdir -p /run/boot-gen && ln -sfn /nix/store/00000000000000000000000000000000-linux-5.15/bzImage "
        "/run/boot-gen/kernel && ln -sfn /run/boot-gen /run/booted-system",
    )
    again = run_task(inventory, "node02", "nixfleet.nixos.facts")
    node02 = again.results("task under test")["node02"]["ansible_facts"]["nixos"]
    assert node02["booted_kernel"] == "/nix/store/00000000000000000000000000000000-linux-5.15/bzImage"
    assert node02["running_kernel"].endswith("-linux-6.6.1/bzImage")
    assert node02["needs_reboot"] is True
    inside(host, "rm -rf /run/booted-system /run/boot-gen")


def test_11_test_boot_and_dry_activate(fleet, flake, inventory):
    host = fleet["node01"]
    before = host_state(host)
    flake.set_host("node01", version="4")
    v4 = flake.out_path("node01")
    test = run_playbook(inventory, "deploy.yml", limit="node01", extra_vars={"nixos_deploy_action": "test"})
    assert test.rc == 0, test.stderr
    assert host_state(host) == dict(before, running=v4)  # profile untouched
    assert http_get(host) == "node01 4\n"
    boot = run_playbook(inventory, "deploy.yml", limit="node01", extra_vars={"nixos_deploy_action": "boot"})
    assert boot.rc == 0 and boot.stats("node01")["changed"] >= 1
    state = host_state(host)
    assert state["profile"] == "system-3-link" and state["running"] == v4
    assert inside(host, "readlink /nix/var/nixfleet/boot/default").strip() == v4
    flake.set_host("node01", version="5")
    dry = run_playbook(inventory, "deploy.yml", limit="node01", extra_vars={"nixos_deploy_action": "dry-activate"})
    assert dry.rc == 0, dry.stderr
    result = dry.results("Copy and switch to the system")["node01"]
    # dry-activate needs the new system on the host: it is copied (changed), never switched to
    assert result["switched"] is False and result["copied"] is True and result["changed"] is True
    assert "would activate %s" % flake.out_path("node01") in result["stdout"]
    assert host_state(host) == state
    again = run_playbook(inventory, "deploy.yml", limit="node01", extra_vars={"nixos_deploy_action": "dry-activate"})
    assert again.rc == 0 and again.results("Copy and switch to the system")["node01"]["changed"] is False


def test_12_refuses_what_is_not_a_toplevel(fleet, flake, inventory):
    host = fleet["node01"]
    base = inside(host, "readlink /run/current-system/sw").strip()
    run = run_task(inventory, "node01", "nixfleet.nixos.switch", {"path": base})
    assert run.rc != 0
    assert "is not a NixOS system toplevel" in run.results("task under test")["node01"]["msg"]
    run = run_task(inventory, "node01", "nixfleet.nixos.switch", {"path": "/tmp/system"})
    assert "not a Nix store path" in run.results("task under test")["node01"]["msg"]
    absent = "/nix/store/00000000000000000000000000000000-nixos-system-node01-9"
    run = run_task(inventory, "node01", "nixfleet.nixos.switch", {"path": absent})
    assert "is not in the target's store; copy it first" in run.results("task under test")["node01"]["msg"]


def test_13_copy_modes_substitute_and_cache(fleet, flake, inventory, tmp_path):
    flake.set_host("node03", version="2")
    sub = run_playbook(inventory, "deploy.yml", limit="node03", extra_vars={"nixos_deploy_copy_mode": "substitute"})
    assert sub.rc == 0, sub.stderr
    assert sub.results("Copy and switch to the system")["node03"]["copied"] is True
    assert http_get(fleet["node03"]) == "node03 2\n"
    # A signed file:// binary cache that node03 trusts and node04 does not.
    flake.set_host("node03", version="3")
    path = flake.out_path("node03")
    subprocess.run(["nix", "build", "--no-link", flake.toplevel("node03")], check=True)
    key, pub = tmp_path / "cache.sec", tmp_path / "cache.pub"
    subprocess.run(["nix-store", "--generate-binary-cache-key", "test-cache-1", str(key), str(pub)], check=True)
    cache = "file://%s" % (tmp_path / "cache")
    subprocess.run(["nix", "store", "sign", "-r", "-k", str(key), path], check=True)
    subprocess.run(["nix", "copy", "--to", cache, path], check=True)
    inside(fleet["node03"], "echo 'trusted-public-keys = %s' >> /etc/nix/nix.conf" % pub.read_text().strip())
    pulled = run_task(
        inventory, "node03", "nixfleet.nixos.copy_closure", {"path": path, "mode": "cache", "cache_url": cache}
    )
    assert pulled.rc == 0, pulled.stderr
    assert pulled.results("task under test")["node03"]["copied"] is True
    assert inside(fleet["node03"], "nix-store --check-validity %s && echo valid" % path).strip() == "valid"
    untrusted = run_task(
        inventory, "node04", "nixfleet.nixos.copy_closure", {"path": path, "mode": "cache", "cache_url": cache}
    )
    assert untrusted.rc != 0
    assert (
        "node04 refused %s from %s: it is not signed by any key in the host's trusted-public-keys" % (path, cache)
        in untrusted.results("task under test")["node04"]["msg"]
    )
    assert (
        inside(fleet["node04"], "nix-store --check-validity %s 2>/dev/null || echo invalid" % path).strip() == "invalid"
    )


def test_14_build_honours_nix_args(fleet, flake, inventory):
    # A version never built before, so the build really needs a job (the controller's store persists).
    flake.set_host("node04", version="7-%s" % uuid.uuid4().hex[:8])
    new = flake.out_path("node04")
    blocked = run_playbook(
        inventory, "deploy.yml", limit="node04", extra_vars={"nixos_deploy_nix_args": ["--max-jobs", "0"]}
    )
    assert blocked.rc != 0
    msg = blocked.results("Fail the hosts whose system does not evaluate or build")["node04"]["msg"]
    assert "max-jobs" in msg
    assert host_state(fleet["node04"])["running"] != new
    run = run_playbook(inventory, "deploy.yml", limit="node04")
    assert run.rc == 0, run.stderr
    assert host_state(fleet["node04"])["running"] == new


def test_15_verify_reports_drift_and_health_and_changes_nothing(fleet, flake, inventory):
    run_playbook(inventory, "deploy.yml")  # converge first
    before = {h.name: host_state(h) for h in fleet.hosts}
    flake.set_host("node03", version="drifted")
    checks = [
        {"type": "http", "url": "http://{{ ansible_host }}:8080/", "body": "{{ inventory_hostname }} ", "retries": 0}
    ]
    run = run_playbook(inventory, "verify.yml", extra_vars={"nixos_verify_health_checks": checks})
    assert run.rc == 0, run.stderr
    report = {h: r["msg"] for h, r in run.results("Report").items()}
    assert report["node03"].startswith(
        "node03: DRIFT: running %s, the flake wants %s" % (before["node03"]["running"], flake.out_path("node03"))
    )
    for name in ("node01", "node02", "node04"):
        # ... and which deploy in the host's audit log put it there (the converging one or earlier).
        assert report[name].startswith("%s: in sync, running %s; put there by " % (name, before[name]["running"]))
        assert " (deploy, confirmed) at 20" in report[name] or " (rollback, confirmed) at 20" in report[name]
    assert all(r["checks"][0]["ok"] for r in run.results("Check health").values())
    assert all(run.stats(n)["changed"] == 0 for n in ALL)
    assert {h.name: host_state(h) for h in fleet.hosts} == before
    strict = run_playbook(inventory, "verify.yml", extra_vars={"nixos_verify_fail_on_drift": True})
    assert strict.rc == 2 and strict.stats("node03")["failures"] == 1 and strict.stats("node01")["failures"] == 0


def test_16_a_shared_package_change_is_shown_package_by_package(fleet, flake, inventory, tmp_path):
    assert run_playbook(inventory, "deploy.yml").rc == 0  # converge first
    base = {"name": "nixfleet-base", "kind": "changed", "before": ["1"], "after": ["2"]}
    flake.data["base_version"] = "2"  # the package every host shares
    flake.write()
    try:
        check = run_playbook(inventory, "deploy.yml", "--check", "--diff")
        assert check.rc == 0, check.stderr
        for name in ALL:  # from the derivations, before anything is built
            result = check.results("Copy and switch to the system")[name]
            assert {k: v for k, v in result["package_changes"][0].items() if k != "size_delta"} == base, result
            assert "nixfleet-base: 1 → 2" in result["diff"]["prepared"]
        run = run_playbook(inventory, "deploy.yml", extra_vars={"nixos_deploy_report_dir": str(tmp_path)})
        assert run.rc == 0, run.stderr
        rows = {r["host"]: r for r in json.loads((tmp_path / "deploy-report.json").read_text())}
        for name in ALL:
            changes = run.results("Copy and switch to the system")[name]["package_changes"]
            assert [{k: v for k, v in c.items() if k != "size_delta"} for c in changes] == [base], changes
            assert rows[name]["changes"] == ["nixfleet-base 1 → 2"]
        text = (tmp_path / "deploy-report.txt").read_text()
        assert "What changed:\n" in text and "  node01: nixfleet-base 1 → 2\n" in text
        assert "What changed:" in " ".join(run.results("Show the deploy summary")["localhost"]["msg"])
    finally:
        flake.data["base_version"] = "1"
        flake.write()
    assert run_playbook(inventory, "deploy.yml").rc == 0


def test_17_report_shows_the_closure_change(fleet, flake, inventory, tmp_path):
    """Last in this module: it leaves node01 a generation ahead."""
    run_playbook(inventory, "deploy.yml")  # converge first
    # A new generation: the change in closure size, both sizes counted by the controller's own Nix.
    before, version = flake.out_path("node01"), flake.data["hosts"]["node01"]["version"]
    flake.set_host("node01", version="report-%s" % uuid.uuid4().hex[:6], payload_kib=3)
    bumped = run_playbook(inventory, "deploy.yml", extra_vars={"nixos_deploy_report_dir": str(tmp_path / "report2")})
    assert bumped.rc == 0, bumped.stderr
    row = {r["host"]: r for r in json.loads((tmp_path / "report2" / "deploy-report.json").read_text())}["node01"]

    size = {p: path_info(p, closure_size=True)["closureSize"] for p in (before, flake.out_path("node01"))}
    assert row["result"] == "switched" and row["new_generation"] == row["old_generation"] + 1
    assert row["closure_change_bytes"] == size[flake.out_path("node01")] - size[before] > 3 * 1024
    flake.set_host("node01", payload_kib=0, version=version)
