"""plugins/action/generations.py: the pruning plan from one probe, check mode, --diff, min_free."""

from action_harness import ActionShell, run_action, said

P = "/nix/var/nix/profiles/system"
NOW = 1700000000 + 30 * 86400
G1, G2, G3, G4 = (
    "/nix/store/%s-nixos-system-web-%d" % (c * 32, n) for n, c in ((1, "a"), (2, "b"), (3, "c"), (4, "d"))
)


def probe_out(store_free_kib="1000", dead=None):
    """The probe's answer: generations 1..4 (1 booted, 3 running, 4 current), dated 1700000000+N days."""
    lines = ["profile\tsystem-4-link"]
    for n, path in enumerate((G1, G2, G3, G4), start=1):
        lines.append("generation\tsystem-%d-link\t%s\t%d" % (n, path, 1700000000 + n * 86400))
    lines += ["running\t%s" % G3, "booted\t%s" % G1, "systemd\tyes", "now\t%d" % NOW, "store_free\t%s" % store_free_kib]
    if dead is not None:
        lines.append("dead_paths\t%d" % dead)
    return said(stdout="\n".join(lines) + "\n")


def target(prune_answer=None, **probe):
    answers = {"prune": prune_answer} if prune_answer is not None else {}
    return ActionShell(answers, {"readlink": probe_out(**probe)})


def test_keep_last_deletes_only_unprotected_generations_in_one_prune():
    # keep_last 1 keeps 4 (newest, current); 3 runs, 1 is booted: only 2 may go.
    shell = target(said(stdout="store_free\t2000\n3 store paths deleted, 1.50 MiB freed\n"))
    result = run_action("generations", {"keep_last": 1, "collect_garbage": True}, shell)
    assert not result.get("failed"), result
    assert [g["number"] for g in result["deleted"]] == [2]
    kept = {k["number"]: k["reasons"] for k in result["kept"]}
    assert kept == {1: ["booted"], 3: ["running"], 4: ["current", "last"]}
    assert shell.performed == [("readlink", False), ("prune", True)]  # probe as the login user, prune as root
    assert result["changed"] is True and result["collected"] is True
    assert result["bytes_freed"] == 3 * (1 << 19) and result["paths_freed"] == 3  # 1.50 MiB
    assert result["nix_store_free_bytes_before"] == 1000 * 1024 and result["nix_store_free_bytes"] == 2000 * 1024


def test_nothing_to_delete_is_unchanged_and_never_prunes():
    shell = target()
    result = run_action("generations", {"keep_last": 10}, shell)
    assert result["changed"] is False and result["deleted"] == []
    assert shell.names() == ["readlink"]


def test_check_mode_counts_garbage_as_root_and_changes_nothing():
    shell = target(dead=7)
    result = run_action("generations", {"keep_days": 365, "collect_garbage": True}, shell, check_mode=True)
    assert shell.performed == [("readlink", True)]  # one round trip, privileged to list the dead paths
    assert "nix-store --gc --print-dead" in shell.texts[0]
    assert result["deleted"] == [] and result["dead_paths"] == 7
    assert result["changed"] is True and result["collected"] is True


def test_check_mode_without_garbage_reports_the_plan_only():
    shell = target()
    result = run_action("generations", {"keep_last": 0}, shell, check_mode=True)
    assert shell.performed == [("readlink", False)]
    assert "--print-dead" not in shell.texts[0]
    assert [g["number"] for g in result["deleted"]] == [2]
    assert result["changed"] is True and result["dead_paths"] == 0


def test_diff_lists_generations_before_and_after():
    result = run_action("generations", {"keep_last": 1}, target(), check_mode=True, diff=True)
    diff = result["diff"]
    assert diff["before"] == (
        "generation 1: %s\ngeneration 2: %s\ngeneration 3: %s\ngeneration 4 (current): %s\n" % (G1, G2, G3, G4)
    )
    assert diff["after"] == "generation 1: %s\ngeneration 3: %s\ngeneration 4 (current): %s\n" % (G1, G3, G4)
    assert diff["before_header"] == diff["after_header"] == "%s generations" % P


def test_min_free_reached_skips_the_collection():
    shell = target(store_free_kib=str(4 * 1024 * 1024))  # 4 GiB free
    result = run_action("generations", {"collect_garbage": True, "min_free": "2G"}, shell)
    assert shell.names() == ["readlink"]
    assert result["changed"] is False and result["collected"] is False
    assert result["msg"] == "%d bytes free on /nix, at least min_free (%d): no garbage collection" % (4 << 30, 2 << 30)


def test_min_free_not_reached_collects():
    shell = target(said(stdout="store_free\t3145728\n10 store paths deleted, 2 GiB freed\n"), store_free_kib="1048576")
    result = run_action("generations", {"collect_garbage": True, "min_free": "2G"}, shell)
    assert shell.performed == [("readlink", False), ("prune", True)]
    assert result["collected"] is True and result["changed"] is True
    assert result["bytes_freed"] == 2 << 30 and result["nix_store_free_bytes"] == 3 << 30


def test_locked_profile_fails_naming_the_host_and_holder():
    shell = target(said(rc=75, stdout="holder\tdeploy by alice\n"))
    result = run_action("generations", {"keep_last": 1}, shell)
    assert result["failed"] is True
    assert "locked by another deploy (deploy by alice)" in result["msg"] and "web" in result["msg"]


def test_bad_size_fails_before_the_host_is_reached():
    shell = target()
    result = run_action("generations", {"collect_garbage": True, "max_freed": "lots"}, shell)
    assert result["failed"] is True and "max_freed" in result["msg"] and "web" in result["msg"]
    assert shell.performed == []


def test_protect_must_be_a_store_path():
    shell = target()
    result = run_action("generations", {"keep_last": 1, "protect": ["/etc/passwd"]}, shell)
    assert result["failed"] is True and "protect" in result["msg"]
    assert shell.performed == []
