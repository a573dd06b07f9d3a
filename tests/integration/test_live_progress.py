"""Live progress while a task runs (issue 37): a system whose build is a chain of derivations that
sleep, and a closure of ~120 MB of random data, built by nixfleet.nixos.build and pushed by
nixfleet.nixos.copy_closure through ansible-playbook and through ansible-runner (as AWX runs it).
The progress lines come from Nix's own internal-json log, while the task runs: before the task's
result, with rising counts; -q / NIXFLEET_PROGRESS=0 print none; results are the same either way."""

import re
import shutil

import ansible_runner
import pytest
import yaml

from awx_slices import job_env
from fleetctl import NIX_CONFIG, FixtureFlake
from fleet_fixtures import own_fleet
from inventory_helpers import inventory_list
from playbook_helpers import run_playbook, run_playbook_text, write_fleet_inventory

pytestmark = pytest.mark.integration

SLOW = "node01"  # its system: 3 build steps of 2 s each, and a 120 MB payload
PLAIN = "node02"
PAYLOAD_KIB = 120 * 1024
BUILD_ONLY = [
    {
        "name": "build",
        "hosts": "all",
        "gather_facts": False,
        "tasks": [{"name": "Build the systems", "nixfleet.nixos.build": {}, "run_once": True}],
    }
]
PLAY = [
    {
        "name": "progress",
        "hosts": "all",
        "gather_facts": False,
        "tasks": [
            {"name": "Build the systems", "nixfleet.nixos.build": {}, "run_once": True, "register": "nixos_build"},
            {
                "name": "Copy the closures",
                "nixfleet.nixos.copy_closure": {"path": "{{ nixos_build.paths[inventory_hostname] }}"},
            },
        ],
    }
]
BUILDING = re.compile(r"^nixfleet: building (\d+)/(\d+) derivations \((\d+) running")
COPYING = re.compile(r"^nixfleet: copying to (\S+): (\d+)/(\d+) paths")  # one host's copy (with -v)
FLEET_COPYING = re.compile(r"^nixfleet: copying to (\d+)/(\d+) hosts: (\d+)/(\d+) paths")  # the task's copies


fleet = own_fleet("progress", 2, first_address="127.0.71.11")


@pytest.fixture(scope="module")
def flake(fleet, tmp_path_factory):
    flake = FixtureFlake.create(tmp_path_factory.mktemp("progress") / "flake", fleet, {})
    flake.set_host(SLOW, build_steps=3, build_step_seconds=2, payload_kib=PAYLOAD_KIB)
    return flake


@pytest.fixture(scope="module")
def inventory(fleet, flake):
    inventory = write_fleet_inventory(flake.path.parent / "inventory", fleet, flake)
    (inventory.parent / "progress.yml").write_text(yaml.safe_dump(PLAY))
    (inventory.parent / "build.yml").write_text(yaml.safe_dump(BUILD_ONLY))
    return inventory


def _lines_of_task(text, task):
    """The lines from TASK [task] to the next TASK or PLAY RECAP."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("TASK [%s]" % task))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith(("TASK [", "PLAY RECAP")))
    return lines[start + 1 : end]


def _building(lines):
    """(done, total, running) of each building line, in order."""
    return [tuple(int(g) for g in found.groups()) for found in map(BUILDING.match, lines) if found]


def _copying(lines, host):
    """(paths done, paths total) of each copying line of ``host``, in order."""
    found = [COPYING.match(line) for line in lines]
    return [(int(m.group(2)), int(m.group(3))) for m in found if m and m.group(1) == host]


def _fleet_copying(lines):
    """(hosts done, hosts, paths done, paths) of each line of the task's copies, in order."""
    return [tuple(int(g) for g in found.groups()) for found in map(FLEET_COPYING.match, lines) if found]


def _rising(values):
    return values == sorted(values) and values[0] < values[-1]


def test_build_and_copy_show_rising_progress_before_their_results(flake, inventory):
    flake.bump(SLOW)  # never built: the build runs its 3 steps of 2 s, the copy sends 120 MB
    rc, text = run_playbook_text(inventory, str(inventory.parent / "progress.yml"))
    assert rc == 0, text
    build = _lines_of_task(text, "Build the systems")
    result = next(i for i, line in enumerate(build) if line.startswith("ok: ["))
    evaluating = [i for i, line in enumerate(build) if line.startswith("nixfleet: evaluating ")]
    assert evaluating and build[evaluating[-1]].startswith("nixfleet: evaluating 2/2 hosts"), build
    assert evaluating[-1] < min(i for i, line in enumerate(build) if BUILDING.match(line))  # evaluated, then built
    counts = _building(build[:result])
    assert len(counts) >= 4 and _building(build) == counts, build  # all of them before the task's result
    assert _rising([c[0] for c in counts]), build
    assert counts[-1][0] == counts[-1][1] >= 5  # 3 steps, the toplevel, etc-node01: all built in the end
    assert any(c[2] == 1 for c in counts)  # shown while a derivation was being built
    assert any("slow-step-node01-" in line for line in build[:result])  # the current derivation
    copy = _lines_of_task(text, "Copy the closures")
    ended = next(i for i, line in enumerate(copy) if line.startswith("changed: [%s]" % SLOW))
    fleet = _fleet_copying(copy[:ended])  # one line for both hosts' copies, before the slow host's result
    assert len(fleet) >= 2, copy
    assert _rising([f[2] for f in fleet]) and fleet[-1][0] == fleet[-1][1] == 2, copy  # both done in the end
    assert _copying(copy, SLOW) == [], copy  # per-host lines only with -v
    assert not any("root@" in line or "remote-program" in line for line in build + copy if "nixfleet:" in line)


def test_with_v_each_host_s_copy_has_its_own_lines(flake, inventory, monkeypatch):
    # A line every 0.2 s: the 120 MiB copy takes about a second with a newer Nix on an idle machine.
    monkeypatch.setenv("NIXFLEET_PROGRESS_INTERVAL", "0.2")
    flake.bump(SLOW)
    rc, text = run_playbook_text(inventory, str(inventory.parent / "progress.yml"), "-v")
    assert rc == 0, text
    copy = _lines_of_task(text, "Copy the closures")
    ended = next(i for i, line in enumerate(copy) if line.startswith("changed: [%s]" % SLOW))
    copied = _copying(copy[:ended], SLOW)
    assert len(copied) >= 2 and _rising([c[0] for c in copied]) and copied[-1][0] == copied[-1][1] > 0, copy
    assert _fleet_copying(copy)  # and the task's line


def test_through_ansible_runner_progress_lines_are_job_events_while_the_task_runs(flake, inventory, tmp_path):
    flake.bump(SLOW)
    data = tmp_path / "private"
    (data / "project").mkdir(parents=True)
    shutil.copy(str(inventory.parent / "progress.yml"), str(data / "project" / "progress.yml"))
    run = ansible_runner.run(
        private_data_dir=str(data),
        playbook="progress.yml",
        inventory=str(inventory),
        envvars=job_env(NIX_CONFIG),
        quiet=True,
    )
    events = list(run.events)
    assert run.status == "successful", [e.get("stdout") for e in events][-30:]
    ok = {
        (e["event_data"]["task"], e["event_data"]["host"]): e["counter"] for e in events if e["event"] == "runner_on_ok"
    }
    build_ok = ok[("Build the systems", SLOW)]
    progress = [e for e in events if "nixfleet: " in (e.get("stdout") or "")]
    building = [e for e in progress if BUILDING.search(e["stdout"])]
    assert len(building) >= 4
    assert all(e["counter"] < build_ok for e in building)  # every one before the task's final event
    done = [int(found.group(1)) for found in (BUILDING.search(e["stdout"]) for e in building) if found]
    assert len(done) == len(building)
    assert _rising(done), [e["stdout"] for e in building]
    created = [e["created"] for e in building]
    assert created == sorted(created) and created[0] < created[-1]  # sent as they came, not at the end
    copy_ok = ok[("Copy the closures", SLOW)]
    copying = [e for e in progress if FLEET_COPYING.search(e["stdout"]) and e["counter"] < copy_ok]
    assert len(copying) >= 2
    assert _rising([f[2] for f in _fleet_copying([e["stdout"].strip() for e in copying])])


def test_no_progress_with_nixfleet_progress_0_and_the_same_results(flake, inventory, monkeypatch):
    flake.bump(SLOW)
    shown = run_playbook(inventory, str(inventory.parent / "progress.yml"))
    flake.bump(SLOW)
    monkeypatch.setenv("NIXFLEET_PROGRESS", "0")
    rc, text = run_playbook_text(inventory, str(inventory.parent / "progress.yml"))
    assert rc == 0 and "TASK [Build the systems]" in text and "changed: [%s]" % SLOW in text
    assert "nixfleet:" not in text, text
    flake.bump(SLOW)
    quiet = run_playbook(inventory, str(inventory.parent / "progress.yml"))
    assert shown.rc == quiet.rc == 0
    for task in ("Build the systems", "Copy the closures"):
        with_progress, without = shown.results(task), quiet.results(task)
        assert {h: r.get("changed") for h, r in with_progress.items()} == {
            h: r.get("changed") for h, r in without.items()
        }
        assert all(sorted(with_progress[h]) == sorted(without[h]) for h in with_progress)


def test_a_failed_build_is_shown_with_its_last_log_lines_before_the_task_ends(flake, inventory):
    flake.bump(SLOW)
    flake.bump(PLAIN, fail="build")
    try:
        rc, text = run_playbook_text(inventory, str(inventory.parent / "build.yml"))
    finally:
        flake.set_host(PLAIN, fail="none")
    build = _lines_of_task(text, "Build the systems")
    result = next(i for i, line in enumerate(build) if line.startswith(("ok: [", "changed: [", "fatal: [")))
    failed = [
        i
        for i, line in enumerate(build)
        if re.match(
            r"^nixfleet: build of /nix/store/\w{32}-nixos-system-%s-\w+\.drv failed; last 1 log lines:$" % PLAIN, line
        )
    ]
    assert len(failed) == 1 and failed[0] < result, build
    assert build[failed[0] + 1] == "  > error: building the system of %s failed (fixture failure mode 'build')" % PLAIN
    assert rc == 0  # the build task itself succeeds: node02 is in its failed_hosts (test_deploy checks the message)


def test_the_deploy_report_has_each_host_s_timings_per_phase(flake, inventory, tmp_path):
    flake.bump(SLOW)
    flake.bump(PLAIN)
    checks = [{"name": "true", "type": "cmd", "argv": ["true"]}]
    run = run_playbook(
        inventory,
        "deploy.yml",
        extra_vars={
            "nixos_deploy_confirm_timeout": 5,
            "nixos_deploy_health_checks": checks,
            "nixos_deploy_report_dir": str(tmp_path),
        },
    )
    assert run.rc == 0, run.stderr
    rows = {r["host"]: r for r in run.results("Summarize the deploy per host")["localhost"]["report"]}
    for host in (SLOW, PLAIN):
        timings = rows[host]["timings"]
        assert sorted(timings) == ["activation", "build", "confirmation", "copy", "evaluation", "health"], timings
        assert all(seconds >= 0 for seconds in timings.values())
    assert rows[SLOW]["timings"]["build"] >= 6  # three steps of 2 s each
    assert rows[SLOW]["timings"]["build"] == rows[PLAIN]["timings"]["build"]  # one nix build for the fleet
    switched = run.results("Copy and switch to the system")
    assert switched[SLOW]["timings"]["copy"] > 0 and switched[SLOW]["changed"] is True
    # each host's whole switch task took at least its copy, activation and confirmation
    for host in (SLOW, PLAIN):
        task = switched[host]["nixfleet_timing"]["finished"] - switched[host]["nixfleet_timing"]["started"]
        parts = switched[host]["timings"]
        assert parts["copy"] + parts["activation"] + parts["confirmation"] <= task + 0.01
    markdown = (tmp_path / "deploy-report.md").read_text()
    assert "## Timings (seconds; evaluation and build: the whole fleet's)" in markdown
    assert "| host | evaluation | build | copy | activation | confirmation | health |" in markdown


def test_a_deploy_counts_the_hosts_activated_and_checked(flake, inventory):
    flake.bump(SLOW)
    flake.bump(PLAIN)
    checks = [{"name": "true", "type": "cmd", "argv": ["true"]}]
    rc, text = run_playbook_text(
        inventory, "deploy.yml", extra_vars={"nixos_deploy_confirm_timeout": 5, "nixos_deploy_health_checks": checks}
    )
    assert rc == 0, text
    switch = _lines_of_task(text, "nixfleet.nixos.deploy : Copy and switch to the system")
    counted = [line for line in switch if line.startswith("nixfleet: activating ")]
    assert counted and counted[-1].startswith("nixfleet: activating 2/2 hosts"), switch
    last_result = max(i for i, line in enumerate(switch) if line.startswith(("ok: [", "changed: [")))
    assert switch.index(counted[-1]) <= last_result + 1  # with the last host's result, not after the play
    health = _lines_of_task(text, "nixfleet.nixos.deploy : Check the host's health")
    assert [line for line in health if line.startswith("nixfleet: health checks ")][-1].startswith(
        "nixfleet: health checks 2/2 hosts"
    ), health


def test_a_push_to_a_cache_shows_its_progress(flake, inventory, tmp_path):
    flake.bump(SLOW)
    cache = "file://%s/cache?compression=none" % tmp_path
    play = [
        {
            "name": "push",
            "hosts": "all",
            "gather_facts": False,
            "tasks": [
                {"name": "Build the systems", "nixfleet.nixos.build": {}, "run_once": True, "register": "nixos_build"},
                {
                    "name": "Push to the cache",
                    "nixfleet.nixos.cache_push": {"paths": "{{ nixos_build.paths.values() | list }}", "to": cache},
                    "run_once": True,
                },
            ],
        }
    ]
    (inventory.parent / "push.yml").write_text(yaml.safe_dump(play))
    rc, text = run_playbook_text(inventory, str(inventory.parent / "push.yml"))
    assert rc == 0, text
    push = _lines_of_task(text, "Push to the cache")
    result = next(i for i, line in enumerate(push) if line.startswith("changed: ["))
    shown = [line for line in push[:result] if line.startswith("nixfleet: pushing to file://%s/cache" % tmp_path)]
    assert len(shown) >= 2 and all(line.startswith("nixfleet: ") for line in push[:result]), push
    counts = [re.match(r"^nixfleet: pushing to \S+: (\d+)/(\d+) paths", line) for line in shown]
    done = [(int(m.group(1)), int(m.group(2))) for m in counts if m]
    assert done and done[-1][0] == done[-1][1] >= 5, shown  # the systems' closures: every path pushed
    assert not any("compression" in line for line in shown)  # the URL without its query


def test_the_inventory_shows_hosts_evaluated_on_stderr(tmp_path, monkeypatch):
    """ansible-inventory --list: its JSON on stdout as before, the evaluation's lines on stderr."""
    names = ["ev%02d" % i for i in range(9)]
    flake = FixtureFlake.from_specs(tmp_path / "flake", {n: {"shape": "plain", "eval_rounds": 1} for n in names})
    inventory = tmp_path / "fleet.flake.yml"
    inventory.write_text("plugin: nixfleet.nixos.flake\nflake: %s\neval_workers: 2\n" % flake.path)
    rc, data, stderr = inventory_list(inventory)
    assert rc == 0 and sorted(data["_meta"]["hostvars"]) == names, stderr
    counts = [tuple(int(g) for g in m.groups()) for m in re.finditer(r"nixfleet: evaluating (\d+)/(\d+) hosts", stderr)]
    # the first hosts come with the flake's listing, the others from the pool's processes
    assert len(counts) >= 2 and counts[-1] == (9, 9) and counts[0][0] < 9 and _rising([c[0] for c in counts]), stderr
    flake.set_host("ev00", version="2")  # evaluated again, not from the inventory's cache
    monkeypatch.setenv("NIXFLEET_PROGRESS", "0")
    rc, again, stderr = inventory_list(inventory)
    assert rc == 0 and sorted(again["_meta"]["hostvars"]) == names and "nixfleet:" not in stderr
    monkeypatch.delenv("NIXFLEET_PROGRESS")
    flake.set_host("ev00", version="3")
    rc, _data, stderr = inventory_list(inventory)
    assert rc == 0 and "nixfleet: evaluating 9/9 hosts" in stderr  # evaluated again: it would have shown
