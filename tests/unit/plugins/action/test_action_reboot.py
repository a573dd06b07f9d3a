"""plugins/action/reboot.py: the decision, check mode, the reboot and what the host booted."""

import importlib

import pytest
from ansible.errors import AnsibleActionFail

from action_harness import ACTIONS, ActionShell, run_action, said

OLD = "/nix/store/%s-nixos-system-web-1" % ("a" * 32)
NEW = "/nix/store/%s-nixos-system-web-2" % ("b" * 32)


def state(running, booted, running_kernel="/nix/store/k1-linux/bzImage", booted_kernel="/nix/store/k1-linux/bzImage"):
    return said(
        stdout="profile\tsystem-2-link\ngeneration\tsystem-2-link\t%s\t1\nrunning\t%s\nbooted\t%s\n"
        "running_kernel\t%s\nbooted_kernel\t%s\nsystemd\tyes\n" % (NEW, running, booted, running_kernel, booted_kernel)
    )


@pytest.fixture
def no_wait(monkeypatch):
    """The action's 5 s pauses between boot-id reads take no time."""
    module = importlib.import_module(ACTIONS % "reboot")
    monkeypatch.setattr(module.time, "sleep", lambda seconds: None)


def test_same_kernel_if_needed_does_not_reboot():
    shell = ActionShell({"generations probe": state(NEW, NEW)})
    result = run_action("reboot", {}, shell)
    assert result["changed"] is False and result["rebooted"] is False
    assert result["reason"] == "the running kernel is the booted one"
    assert shell.performed == [("generations probe", False)]


def test_check_mode_says_it_would_reboot_and_does_not():
    shell = ActionShell({"generations probe": state(NEW, OLD, running_kernel="/nix/store/k2-linux/bzImage")})
    result = run_action("reboot", {}, shell, check_mode=True)
    assert result["changed"] is True and result["rebooted"] is False
    assert "the running kernel /nix/store/k2-linux/bzImage is not the booted kernel" in result["reason"]
    assert shell.names() == ["generations probe"]


def test_reboot_waits_for_a_new_boot_id_and_checks_what_booted(no_wait):
    shell = ActionShell(
        {"generations probe": [state(OLD, OLD), state(NEW, NEW)]},
        {
            "boot_id": [said(stdout="id-1\n"), said(rc=255), said(stdout="id-1\n"), said(stdout="id-2\n")],
            "systemctl reboot": said(stdout="rebooting\n"),
        },
    )
    result = run_action("reboot", {"policy": "if-needed", "expected": NEW}, shell)
    assert not result.get("failed"), result
    assert result["reason"] == "the host booted %s and does not run %s" % (OLD, NEW)
    assert result["rebooted"] is True and result["changed"] is True and result["booted_system"] == NEW
    assert shell.performed == [
        ("generations probe", False),
        ("boot_id", False),
        ("systemctl reboot", True),
        ("boot_id", False),
        ("boot_id", False),
        ("boot_id", False),
        ("generations probe", False),
    ]


def test_a_host_that_booted_something_else_fails(no_wait):
    shell = ActionShell(
        {"generations probe": [state(OLD, OLD), state(OLD, OLD)]},
        {"boot_id": [said(stdout="id-1\n"), said(stdout="id-2\n")], "systemctl reboot": said()},
    )
    result = run_action("reboot", {"policy": "always", "expected": NEW}, shell)
    # the profile points at NEW (the probe's generation 2), so "always" reboots; the host came back on OLD
    assert result["failed"] is True
    assert "booted %s instead of %s" % (OLD, NEW) in result["msg"] and "web" in result["msg"]


def test_no_new_boot_id_before_the_timeout_fails(no_wait):
    shell = ActionShell(
        {"generations probe": state(NEW, NEW)}, {"boot_id": said(stdout="id-1\n"), "systemctl reboot": said()}
    )
    result = run_action("reboot", {"policy": "always", "timeout": 0}, shell)
    assert result["failed"] is True
    assert "did not come back with a new boot id within 0s of the reboot" in result["msg"]
    assert shell.names() == ["generations probe", "boot_id", "systemctl reboot"]


def test_expected_not_in_the_profile_does_not_reboot():
    shell = ActionShell({"generations probe": state(OLD, OLD)})
    other = "/nix/store/%s-nixos-system-web-3" % ("c" * 32)
    result = run_action("reboot", {"policy": "always", "expected": other}, shell)
    assert result["changed"] is False
    assert result["reason"] == "the profile does not point at %s, so a reboot would not boot it" % other


def test_expected_must_be_a_store_path():
    shell = ActionShell()
    result = run_action("reboot", {"expected": "/etc/nixos"}, shell)
    assert result["failed"] is True and "expected" in result["msg"]
    assert shell.performed == []


def test_unknown_policy_is_refused_by_the_argspec():
    shell = ActionShell()
    with pytest.raises(AnsibleActionFail, match="value of policy must be one of: never, if-needed, always"):
        run_action("reboot", {"policy": "sometimes"}, shell)
    assert shell.performed == []
