"""plugins/action/copy_closure.py: a system the host lacks is pushed (or substituted, built there, or
fetched from a cache), one it has is not; check mode copies nothing; bad options fail before the host is
asked. The host answers by a needle of each command; the real NixCli's nix copy lines are recorded
(tests/helpers/recorded_copies.py)."""

from action_harness import ActionShell, Connection, run_action, said
from recorded_copies import RecordedCopies

SYSTEM = "/nix/store/fdbsdqh96xcdfvxizjzr90dqy2v5d87k-nixos-system-web-2"
DRV = "/nix/store/0hxb6g0g9n6is6vmy325k8kpl8k5h3bd-nixos-system-web-2.drv"
VALIDITY = "--check-validity"
CONNECTION = Connection(host="127.0.0.1", remote_user="deploy", port=2222)


def copy(args, valid, check_mode=False, **commands):
    shell = ActionShell(commands=dict({VALIDITY: [said(0 if v else 1) for v in valid]}, **commands))
    copies = RecordedCopies()
    result = run_action(
        "copy_closure", args, shell, check_mode=check_mode, nix=lambda options: copies.nix, connection=CONNECTION
    )
    return result, shell, copies


def test_a_missing_system_is_pushed_to_the_hosts_ssh_destination():
    result, shell, copies = copy({"path": SYSTEM}, [False])
    assert not result.get("failed"), result
    assert result == dict(
        result, path=SYSTEM, mode="push", changed=True, copied=True, built_on_target=False
    )  # the keys the docs promise
    assert copies.destination() == "ssh-ng://deploy@127.0.0.1" and copies.words()[-1] == SYSTEM
    assert "-p 2222" in str(copies.copies[0]["env"]["NIX_SSHOPTS"])


def test_a_system_the_host_has_is_not_copied_again():
    result, shell, copies = copy({"path": SYSTEM}, [True])
    assert (result["changed"], result["copied"], result["built_on_target"]) == (False, False, False)
    assert copies.copies == [] and shell.names() == [VALIDITY]


def test_check_mode_says_it_would_copy_and_copies_nothing():
    result, shell, copies = copy({"path": SYSTEM}, [False], check_mode=True)
    assert (result["changed"], result["copied"], result["built_on_target"]) == (True, False, False)
    assert copies.copies == []


def test_build_on_target_pushes_the_derivation_and_realises_it_there():
    result, shell, copies = copy(
        {"path": SYSTEM, "drv_path": DRV, "build_on_target": True},
        [False],
        **{"nix-store --realise": said(0, SYSTEM + "\n")},
    )
    assert not result.get("failed"), result
    assert (result["changed"], result["copied"], result["built_on_target"]) == (True, True, True)
    assert copies.words()[-1] == DRV and "--derivation" in copies.words()
    assert shell.names() == [VALIDITY, "nix-store --realise"]


def test_cache_mode_has_the_host_fetch_it_and_the_controller_copies_nothing():
    result, shell, copies = copy(
        {"path": SYSTEM, "mode": "cache", "cache_url": "https://cache.example"},
        [False, True],
        **{"nix-store --realise": said(0, SYSTEM + "\n")},
    )
    assert not result.get("failed"), result
    assert (result["mode"], result["copied"]) == ("cache", True) and copies.copies == []


def test_bad_options_fail_clearly_and_nothing_is_asked_of_the_host():
    for args, message in (
        ({"path": "nixos-system-web"}, "path: "),
        ({"path": SYSTEM, "mode": "cache"}, "mode=cache needs cache_url"),
        ({"path": SYSTEM, "build_on_target": True}, "build_on_target needs drv_path"),
        ({"path": SYSTEM, "copy_lock_timeout": -1}, "copy_lock_timeout must be >= 0 seconds, not -1"),
    ):
        result, shell, copies = copy(args, [False])
        assert result["failed"] is True and message in result["msg"], (args, result)
        assert shell.performed == [] and copies.copies == []


def test_a_failed_push_is_a_failed_task_with_nixs_error():
    shell = ActionShell(commands={VALIDITY: said(1)})
    copies = RecordedCopies(rc=1, stderr="error: cannot open connection to remote store 'ssh-ng://deploy@127.0.0.1'\n")
    result = run_action("copy_closure", {"path": SYSTEM}, shell, nix=lambda options: copies.nix, connection=CONNECTION)
    assert result["failed"] is True and "cannot open connection to remote store" in result["stderr"]
