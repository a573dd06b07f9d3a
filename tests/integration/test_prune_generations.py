"""Pruning generations and collecting garbage (nixfleet.nixos.generations, playbooks/gc.yml, the
deploy role's nixos_deploy_keep_generations) on the fleet: each keep rule, the store after a real
``nix-store --gc``, the deploy lock, a profile that changes meanwhile, bad input, a package profile.
node02 has no Python."""

import subprocess
import time

import pytest

from fleetctl import holding_lock, inside
from fleet_fixtures import own_fleet, fleet_flake
from playbook_helpers import failures, playbook_command, run_playbook, run_task, write_fleet_inventory

from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction.command import LOCK_FILE

pytestmark = pytest.mark.integration

SYSTEM = "/nix/var/nix/profiles/system"
TOOLS = "/nix/var/nix/profiles/per-user/root/tools"
MIB = 1 << 20
DAY = 86400


fleet = own_fleet("gc", 2, ["node02"], "127.0.25.11")
flake = fleet_flake("gc", {})


@pytest.fixture(scope="module")
def inventory(fleet, flake, tmp_path_factory):
    inv = write_fleet_inventory(tmp_path_factory.mktemp("gc-inventory"), fleet, flake)
    deployed = run_playbook(inv, "deploy.yml", extra_vars={"nixos_deploy_confirm_timeout": 5})
    assert deployed.rc == 0, failures(deployed)
    return inv


def generations(host, profile=SYSTEM):
    """{number: store path} of the profile's generation links, read with ls/readlink on the host."""
    out = inside(
        host,
        'for l in %s-*-link; do [ -L "$l" ] && printf \'%%s %%s\\n\' "$l" "$(readlink "$l")"; done; true' % profile,
    )
    return {int(link.rsplit("-", 2)[-2]): path for link, path in (line.split() for line in out.splitlines())}


def valid(host, path):
    return inside(host, "nix-store --check-validity %s 2>/dev/null && echo yes || echo no" % path).strip() == "yes"


def junk_path(host, name, size=1000):
    """A new store path on the host: a file of ``size`` random bytes."""
    return inside(host, "f=$(mktemp -d)/%s; head -c %d /dev/urandom > $f; nix-store --add $f" % (name, size)).strip()


def fresh_profile(host, profile=SYSTEM, old=(), size=1000, base=None):
    """The profile reset to ``base`` (default the running system), then one generation per age in
    ``old`` (days; each a new store path of ``size`` random bytes), then ``base`` again as current.
    Returns (junk paths in order, the current generation's number)."""
    running = base or inside(host, "readlink /run/current-system").strip()
    inside(
        host,
        "nix-env -p %s --set %s >/dev/null 2>&1 && nix-env -p %s --delete-generations old >/dev/null 2>&1; "
        "rm -f /run/booted-system" % (profile, running, profile),
    )
    junk = []
    for index, days in enumerate(old):
        path = junk_path(host, "junk-%d" % index, size)
        inside(host, "nix-env -p %s --set %s >/dev/null 2>&1" % (profile, path))
        number = max(generations(host, profile))
        inside(host, "touch -h -d @%d %s-%d-link" % (time.time() - days * DAY, profile, number))
        junk.append(path)
    inside(host, "nix-env -p %s --set %s >/dev/null 2>&1" % (profile, running))
    return junk, max(generations(host, profile))


def prune(inventory, args, *cli, hosts="all"):
    return run_task(inventory, hosts, "nixfleet.nixos.generations", args, *cli)


def test_keep_last_check_mode_diff_then_prune_then_nothing(fleet, inventory):
    before, goes = {}, {}
    for host in fleet.hosts:
        junk = fresh_profile(host, old=[5, 4, 3, 2])[0]
        before[host.name] = generations(host)
        # Newest first: current, then junk 3 (the two keep_last keeps); junk 0..2 go; the first
        # generation (the running system's, as the current one) stays as running.
        goes[host.name] = sorted(n for n, p in before[host.name].items() if p in junk[:3])
        assert len(goes[host.name]) == 3 and len(before[host.name]) == 6
    check = prune(inventory, {"keep_last": 2}, "--check", "--diff")
    assert check.rc == 0, failures(check)
    for host in fleet.hosts:
        result = check.results("task under test")[host.name]
        assert [g["number"] for g in result["deleted"]] == goes[host.name]
        assert result["changed"] and generations(host) == before[host.name]  # check mode deleted nothing
        first = goes[host.name][0]
        assert "generation %d:" % first in result["diff"]["before"]
        assert "generation %d:" % first not in result["diff"]["after"]
    real = prune(inventory, {"keep_last": 2})
    assert real.rc == 0, failures(real)
    for host in fleet.hosts:
        kept = {n: p for n, p in before[host.name].items() if n not in goes[host.name]}
        assert generations(host) == kept
        reasons = {k["number"]: k["reasons"] for k in real.results("task under test")[host.name]["kept"]}
        assert reasons[min(kept)] == ["running"] and reasons[max(kept)] == ["current", "running", "last"]
        assert real.stats(host.name)["changed"] == 1
    again = prune(inventory, {"keep_last": 2})
    assert again.rc == 0 and all(again.stats(h.name)["changed"] == 0 for h in fleet.hosts)


def test_keep_days_deletes_only_the_old_ones(fleet, inventory):
    for host in fleet.hosts:
        junk, current = fresh_profile(host, old=[30, 20, 1])
        run = prune(inventory, {"keep_days": 7}, hosts=host.name)
        assert run.rc == 0, failures(run)
        left = set(generations(host).values())
        assert junk[0] not in left and junk[1] not in left and junk[2] in left
        assert max(generations(host)) == current


def test_running_booted_and_protected_stay_outside_the_policy(fleet, inventory):
    for host in fleet.hosts:
        junk = fresh_profile(host, old=[9, 8, 7, 6])[0]
        # The profile's current generation is junk 3, the host runs the deployed system and booted junk 0.
        inside(
            host, "nix-env -p %s --set %s >/dev/null 2>&1; ln -sfn %s /run/booted-system" % (SYSTEM, junk[3], junk[0])
        )
        run = prune(inventory, {"keep_last": 0, "protect": [junk[1]], "collect_garbage": True}, hosts=host.name)
        assert run.rc == 0, failures(run)
        result = run.results("task under test")[host.name]
        left = generations(host)
        running = inside(host, "readlink /run/current-system").strip()
        # Two generations of the running system (the reset's and fresh_profile's last), junk 3's newer
        # generation only (the older one of the same path is not current).
        assert sorted(left.values()) == sorted([junk[0], junk[1], junk[3], running, running])
        assert {tuple(k["reasons"]) for k in result["kept"]} >= {("booted",), ("protected",), ("current",)}
        assert not valid(host, junk[2]) and all(valid(host, p) for p in (junk[0], junk[1], junk[3], running))
        inside(host, "rm -f /run/booted-system")


def test_a_running_system_no_generation_holds_survives_the_collection(fleet, inventory):
    for host in fleet.hosts:
        fresh_profile(host)
        deployed = inside(host, "readlink /run/current-system").strip()
        elsewhere = junk_path(host, "elsewhere")
        inside(host, "ln -sfn %s /run/current-system" % elsewhere)
        try:
            run = prune(inventory, {"collect_garbage": True}, hosts=host.name)
            assert run.rc == 0, failures(run)
            assert valid(host, elsewhere)
            assert inside(host, "ls /nix/var/nix/gcroots | grep -c nixfleet-gc-keep || true").strip() == "0"
        finally:
            inside(host, "ln -sfn %s /run/current-system" % deployed)


def test_the_collection_frees_the_pruned_closures_and_reports_it(fleet, inventory):
    for host in fleet.hosts:
        junk = fresh_profile(host, old=[3, 2, 1], size=MIB)[0]
        prune(inventory, {"collect_garbage": True}, hosts=host.name)  # nothing else dead on the host
        run = prune(inventory, {"keep_last": 1, "collect_garbage": True}, hosts=host.name)
        assert run.rc == 0, failures(run)
        result = run.results("task under test")[host.name]
        assert result["collected"] and result["paths_freed"] == 3
        assert 0.95 * 3 * MIB <= result["bytes_freed"] <= 1.05 * 3 * MIB
        assert not any(valid(host, p) for p in junk)
        assert isinstance(result["nix_store_free_bytes"], int) and result["nix_store_free_bytes"] > 0
        again = prune(inventory, {"keep_last": 1, "collect_garbage": True}, hosts=host.name)
        assert (
            again.stats(host.name)["changed"] == 0 and again.results("task under test")[host.name]["paths_freed"] == 0
        )


def test_max_freed_and_min_free_limit_the_collection(fleet, inventory):
    host = fleet["node02"]
    junk = fresh_profile(host, old=[3, 2, 1], size=MIB)[0]
    prune(inventory, {"keep_last": 1}, hosts=host.name)
    enough = prune(inventory, {"collect_garbage": True, "min_free": "1K"}, hosts=host.name)
    result = enough.results("task under test")[host.name]
    assert enough.rc == 0 and not result["collected"] and "min_free" in result["msg"]
    assert all(valid(host, p) for p in junk) and enough.stats(host.name)["changed"] == 0
    some = prune(inventory, {"collect_garbage": True, "max_freed": "1K"}, hosts=host.name)
    assert some.rc == 0, failures(some)
    assert some.results("task under test")[host.name]["paths_freed"] >= 1
    assert 1 <= sum(not valid(host, p) for p in junk) < 3


def test_a_package_profile_is_pruned_and_the_boot_entry_left_alone(fleet, inventory):
    host = fleet["node02"]
    inside(host, "mkdir -p %s" % TOOLS.rsplit("/", 1)[0])
    tools = junk_path(host, "tools")
    fresh_profile(host, TOOLS, old=[3, 2], base=tools)
    entry = inside(host, "readlink /nix/var/nixfleet/boot/default").strip()
    try:
        run = prune(inventory, {"profile": TOOLS, "keep_last": 1}, hosts=host.name)
        assert run.rc == 0, failures(run)
        assert list(generations(host, TOOLS).values()) == [tools]
        assert inside(host, "readlink /nix/var/nixfleet/boot/default").strip() == entry
    finally:
        inside(host, "rm -f %s %s-*-link" % (TOOLS, TOOLS))


def test_pruning_the_system_profile_refreshes_its_boot_entries(fleet, inventory):
    host = fleet["node01"]
    junk = fresh_profile(host, old=[2, 1])[0]
    inside(host, "ln -sfn %s /nix/var/nixfleet/boot/default" % junk[0])  # a menu entry of a generation that goes
    run = prune(inventory, {"keep_last": 1}, hosts=host.name)
    assert run.rc == 0, failures(run)
    assert (
        inside(host, "readlink /nix/var/nixfleet/boot/default").strip()
        == inside(host, "readlink -f %s" % SYSTEM).strip()
    )


def test_a_locked_host_is_left_alone(fleet, inventory):
    host = fleet["node02"]
    fresh_profile(host, old=[2, 1])
    before = generations(host)
    with holding_lock(host, LOCK_FILE, "alice deploying by hand"):
        run = prune(inventory, {"keep_last": 1, "lock_timeout": 1}, hosts=host.name)
    assert run.rc != 0
    msg = run.results("task under test")[host.name]["msg"]
    assert "locked by another deploy" in msg and "alice deploying by hand" in msg and "node02" in msg
    assert generations(host) == before


def _waiting_for_lock(host):
    return (
        inside(
            host,
            "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done | grep -c '^flock -w' || true",
        ).strip()
        != "0"
    )


def test_a_profile_that_changes_while_waiting_for_the_lock_is_not_pruned(fleet, inventory, tmp_path):
    host = fleet["node01"]
    junk = fresh_profile(host, old=[2, 1])[0]
    play = tmp_path / "prune.yml"
    play.write_text(
        "- hosts: node01\n  gather_facts: false\n  tasks:\n    - name: task under test\n"
        "      nixfleet.nixos.generations: {keep_last: 1, lock_timeout: 30}\n"
    )
    with holding_lock(host, LOCK_FILE, "another deploy"):
        background = _start_playbook(inventory, play)
        for _attempt in range(300):
            if _waiting_for_lock(host):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the task never waited for the lock")
        inside(host, "nix-env -p %s --set %s >/dev/null 2>&1" % (SYSTEM, junk[0]))  # another deploy's change
    out = background.communicate(timeout=120)[0]
    assert background.returncode != 0 and "changed since it was read" in out and "nothing was deleted" in out
    assert len(generations(host)) == 5  # the four it saw and the one made meanwhile


def _start_playbook(inventory, play):
    argv, env = playbook_command(inventory, str(play), (), callback="default")
    return subprocess.Popen(
        argv,
        env=env,
        cwd=str(inventory.parent),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
    )


@pytest.mark.parametrize(
    "args, words",
    [
        ({"keep_last": 1, "max_freed": "1G; touch /tmp/pwned", "collect_garbage": True}, "is not a size"),
        ({"collect_garbage": True, "min_free": "$(touch /tmp/pwned)"}, "is not a size"),
        ({"keep_last": 1, "protect": ["/nix/store/../../tmp/pwned"]}, "protect"),
        ({"keep_last": -1}, "keep_last must be a whole number"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(fleet, inventory, args, words):
    host = fleet["node02"]
    fresh_profile(host, old=[1])
    before = generations(host)
    run = prune(inventory, args, hosts=host.name)
    assert run.rc != 0 and words in run.results("task under test")[host.name]["msg"]
    assert generations(host) == before
    assert inside(host, "[ -e /tmp/pwned ] && echo yes || echo no").strip() == "no"


def test_gc_playbook_and_facts(fleet, inventory):
    for host in fleet.hosts:
        fresh_profile(host, old=[4, 3, 2, 1])
    run = run_playbook(inventory, "gc.yml", extra_vars={"nixos_gc_keep_last": 2})
    assert run.rc == 0, failures(run)
    for host in fleet.hosts:
        assert len(generations(host)) == 3  # the running system's first generation, junk 3, current
        assert run.stats(host.name)["changed"] == 1
    facts = run_task(inventory, "all", "nixfleet.nixos.facts")
    for host in fleet.hosts:
        free = facts.results("task under test")[host.name]["ansible_facts"]["nixos"]["nix_store_free_bytes"]
        df = int(inside(host, "df -Pk /nix/store | tail -n 1").split()[3]) * 1024
        assert abs(free - df) < 64 * MIB


def test_the_deploy_role_prunes_after_a_successful_deploy(fleet, flake, inventory):
    old = {}
    for host in fleet.hosts:
        fresh_profile(host, old=[2, 1])
        old[host.name] = inside(host, "readlink /run/current-system").strip()
        flake.bump(host.name)
    run = run_playbook(
        inventory,
        "deploy.yml",
        extra_vars={
            "nixos_deploy_confirm_timeout": 5,
            "nixos_deploy_keep_generations": 1,
            "nixos_deploy_collect_garbage": True,
        },
    )
    assert run.rc == 0, failures(run)
    for host in fleet.hosts:
        running = inside(host, "readlink /run/current-system").strip()
        assert running != old[host.name] and list(generations(host).values()) == [running]
        assert not valid(host, old[host.name]), inside(host, "nix-store -q --roots %s" % old[host.name])
