"""plugins/action/switch.py: the Activator's phases in the order the action runs them (probe, the copy
when asked and needed, keys, transact, confirm) against a target that answers each operation by name as
the real commands print them (tests/helpers/activator_answers.py), plain commands by a needle; the
result keys its docs promise, check mode and --diff, an unchanged host, the copy folded into the
switch, and bad options' clear errors before the host is asked anything."""

import getpass
import socket

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction.protocol import Deletion, Verdict

from action_harness import ActionShell, Connection, run_action, said
from activator_answers import AFTER, NEW, OLD, launched, probe
from recorded_copies import RecordedCopies

DIFF = "diff-closures"  # the needle of the package diff on the target
FIREFOX = said(0, "firefox: 120.0 → 121.0, +1024.0 KiB\n")
NO_WATCHDOG = {"path": NEW, "magic_rollback": False}
UNCHANGED = probe(2, NEW, ((1, OLD), (2, NEW)))
MISSING = probe(present=3)  # the probe's validity test: NEW is not in the host's store


def switched_host(**commands):
    return ActionShell({"probe": [probe(), AFTER], "launch": launched(0, Verdict.DONE.word)}, dict(commands))


def test_a_switch_returns_what_the_docs_promise():
    shell = switched_host(**{DIFF: FIREFOX})
    result = run_action("switch", NO_WATCHDOG, shell)
    assert not result.get("failed"), result
    assert (result["changed"], result["switched"], result["copied"], result["keys_changed"]) == (True, True, False, [])
    assert (result["action"], result["path"], result["previous_path"]) == ("switch", NEW, OLD)
    assert (result["previous_generation"], result["generation"], result["exit_code"]) == (1, 2, 0)
    assert (result["inhibited"], result["failed_units"], result["install_bootloader"]) == (False, False, False)
    assert (result["specialisation"], result["activated_path"]) == (None, None)
    assert result["confirmation"] == "not requested" and result["needs_reboot"] is False
    assert result["deployed_by"] == "%s@%s" % (getpass.getuser(), socket.gethostname())
    assert "mode" not in result and "built_on_target" not in result  # only with copy
    assert set(result["timings"]) >= {"activation"} and "nixfleet_timing" in result
    [firefox] = result["package_changes"]
    assert (firefox["name"], firefox["before"], firefox["after"], firefox["kind"]) == (
        "firefox",
        ["120.0"],
        ["121.0"],
        "changed",
    )
    assert firefox["size_delta"] == 1024 * 1024
    assert shell.names() == ["probe", "launch", "probe", DIFF]
    assert shell.performed[-1] == (DIFF, False)  # the diff is read as the login user


def test_package_changes_false_asks_for_no_diff():
    shell = switched_host()
    result = run_action("switch", dict(NO_WATCHDOG, package_changes=False), shell)
    assert result["changed"] is True and "package_changes" not in result
    assert DIFF not in shell.names()


def test_magic_rollback_confirms_and_says_so():
    confirmed = said(Deletion.DELETED.code, "nixfleet-status\tconfirmed\n" + AFTER.stdout)
    shell = ActionShell({"probe": probe(), "launch": launched(0), "confirm": confirmed}, {DIFF: FIREFOX})
    result = run_action("switch", {"path": NEW, "confirm_timeout": 5}, shell)
    assert not result.get("failed"), result
    assert result["confirmation"] == "confirmed" and "confirmation" in result["timings"]


def test_an_unchanged_host_launches_nothing_and_reports_no_change():
    shell = ActionShell({"probe": UNCHANGED})
    result = run_action("switch", NO_WATCHDOG, shell, diff=True)
    assert not result.get("failed"), result
    assert (result["changed"], result["switched"], result["generation"]) == (False, False, 2)
    assert "package_changes" not in result and "diff" not in result and "deployed_by" not in result
    assert shell.names() == ["probe"]


def test_check_mode_changes_nothing_and_diff_shows_the_packages():
    shell = ActionShell({"probe": probe()}, {DIFF: FIREFOX})
    result = run_action("switch", NO_WATCHDOG, shell, check_mode=True, diff=True)
    assert not result.get("failed"), result
    assert result["changed"] is True and result["switched"] is True
    assert result["diff"] == {
        "before_header": "running system",
        "after_header": "new system (switch)",
        "before": OLD + "\n",
        "after": NEW + "\n",
        "prepared": "firefox: 120.0 → 121.0, +1024.0 KiB\n",
    }
    assert [c["name"] for c in result["package_changes"]] == ["firefox"]
    assert "needs_reboot" not in result and "deployed_by" not in result  # only after a real run
    assert "launch" not in shell.names()


def test_check_mode_without_diff_reads_no_packages():
    shell = ActionShell({"probe": probe()})
    result = run_action("switch", NO_WATCHDOG, shell, check_mode=True)
    assert result["changed"] is True and "package_changes" not in result
    assert shell.names() == ["probe"]


def test_copy_pushes_a_missing_system_between_the_probes_and_reports_it():
    shell = ActionShell({"probe": [MISSING, probe(), AFTER], "launch": launched(0, Verdict.DONE.word)}, {DIFF: FIREFOX})
    copies = RecordedCopies()
    result = run_action(
        "switch",
        dict(NO_WATCHDOG, copy=True),
        shell,
        nix=lambda options: copies.nix,
        connection=Connection(host="127.0.0.1", remote_user="root"),
    )
    assert not result.get("failed"), result
    assert (result["copied"], result["mode"], result["built_on_target"], result["changed"]) == (
        True,
        "push",
        False,
        True,
    )
    assert len(copies.copies) == 1 and copies.words()[-1] == NEW
    assert copies.destination() == "ssh-ng://root@127.0.0.1"
    assert shell.names() == ["probe", "probe", "launch", "probe", DIFF]


def test_copy_of_a_system_the_host_has_copies_nothing():
    shell = switched_host(**{DIFF: FIREFOX})
    copies = RecordedCopies()
    result = run_action("switch", dict(NO_WATCHDOG, copy=True), shell, nix=lambda options: copies.nix)
    assert (result["copied"], result["mode"], result["switched"]) == (False, "push", True)
    assert copies.copies == []


@pytest.mark.parametrize(
    "args, message",
    [
        ({"path": "/etc/passwd"}, "path: "),
        ({"path": NEW, "copy": True, "mode": "cache"}, "mode=cache needs cache_url"),
        ({"path": NEW, "copy": True, "build_on_target": True}, "build_on_target needs drv_path"),
        ({"path": NEW, "specialisation": "../x"}, "is not a specialisation name"),
    ],
)
def test_bad_options_fail_clearly_before_the_host_is_asked(args, message):
    shell = ActionShell()
    result = run_action("switch", args, shell)
    assert result["failed"] is True and message in result["msg"], result
    assert shell.performed == []


def test_an_unknown_action_is_refused_by_the_argument_spec():
    with pytest.raises(AnsibleActionFail, match="value of action must be one of: switch, boot, test, dry-activate"):
        run_action("switch", {"path": NEW, "action": "reboot"}, ActionShell())


def test_a_failed_activation_is_a_failed_task_that_says_it_rolled_back():
    shell = ActionShell(
        {"probe": [probe(), probe()], "launch": launched(1, Verdict.FAILED_RESTORED.word, stderr="boom\n")}
    )
    result = run_action("switch", NO_WATCHDOG, shell)
    assert result["failed"] is True and result["rolled_back"] is True
    assert "activation (switch) of %s failed; rolled back to generation 1" % NEW in result["msg"]
