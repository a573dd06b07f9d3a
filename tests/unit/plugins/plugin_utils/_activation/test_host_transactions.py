"""HostTransactions (plugins/plugin_utils/_activation/host_transactions.py): the state probe, the launch of the
transaction script and how its verdict is judged, and the confirmation phase, through ``Activator.switch``
against a target that answers each operation by name (tests/helpers/fake_shell.py); the launch's and the
confirmation's real parsers read the canned answers, written as the real script prints them
(tests/unit/plugins/module_utils/_transaction/test_deploy_script.py runs that script for real)."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction import command as tr
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction.protocol import (
    RC_TIMED_OUT,
    Deletion,
    Verdict,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation import watchdog_confirmation
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.activation_models import SwitchRequest, Safety
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.watchdog_confirmation import ActivationFailed
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.activation import Activator

from activator_answers import AFTER, NEW, OLD, PROFILE, activator, launched, probe
from fake_shell import said, OperationShell


def test_done_without_a_watchdog_cleans_up_in_the_probe_that_reads_the_new_generation():
    shell, a = activator({"probe": [probe(), AFTER], "launch": launched(0, Verdict.DONE.word)})
    outcome = a.switch(SwitchRequest(NEW))
    assert (outcome.changed, outcome.generation, outcome.exit_code, outcome.failed_units) == (True, 2, 0, False)
    assert outcome.stdout == "activating the configuration...\n"  # the verdict lines are not the activation's
    assert shell.performed == [("probe", False), ("launch", True), ("probe", True)]  # cleanup first: as root


def test_exit_code_4_keeps_the_new_system_with_a_warning():
    shell, a = activator(
        {
            "probe": [probe(), AFTER],
            "launch": launched(4, Verdict.DONE.word, stderr="warning: the following units failed: x\n"),
        }
    )
    outcome = a.switch(SwitchRequest(NEW))
    assert outcome.failed_units is True and outcome.generation == 2
    assert outcome.warnings == [
        "web: switched to %s, but some units failed (exit code 4): warning: the following units failed: x" % NEW
    ]


def test_locked_names_the_holder():
    shell, a = activator({"probe": probe(), "launch": launched(Verdict.LOCKED.code, "locked", "alice@ctl pid 7")})
    with pytest.raises(NixError) as caught:
        a.switch(SwitchRequest(NEW))
    assert str(caught.value) == ("web: another deploy holds the lock %s (waited 3s): alice@ctl pid 7" % tr.LOCK_FILE)
    assert caught.value.rolled_back is False


def test_stale_says_what_the_profile_became():
    shell, a = activator({"probe": probe(), "launch": launched(Verdict.STALE.code, "stale", "system-5-link")})
    with pytest.raises(
        NixError,
        match=r"the profile changed while this deploy waited for the lock \(it is now "
        r"system-5-link, it was generation 1\); nothing was done",
    ):
        a.switch(SwitchRequest(NEW))


def test_a_failing_nix_env_is_named_with_its_error():
    shell, a = activator(
        {"probe": probe(), "launch": launched(Verdict.PROFILE_FAILED.code, "profile", stderr="error: disk full\n")}
    )
    with pytest.raises(NixError) as caught:
        a.switch(SwitchRequest(NEW))
    assert caught.value.rc == Verdict.PROFILE_FAILED.code and "setting %s failed" % PROFILE in str(caught.value)
    assert "disk full" in str(caught.value)


def test_noop_when_another_deploy_did_it():
    shell, a = activator({"probe": probe(), "launch": launched(Verdict.NOOP.code, "noop"), "cleanup": said()})
    outcome = a.switch(SwitchRequest(NEW))
    assert outcome.changed is False
    assert outcome.warnings == ["web: another deploy already did this while this one waited for the lock"]
    assert shell.names() == ["probe", "launch", "cleanup"]


def test_a_failed_activation_that_was_restored():
    shell, a = activator(
        {"probe": [probe(), probe()], "launch": launched(1, Verdict.FAILED_RESTORED.word, stderr="boom\n")}
    )
    with pytest.raises(ActivationFailed) as caught:
        a.switch(SwitchRequest(NEW))
    assert str(caught.value).startswith(
        "web: activation (switch) of %s failed; rolled back to generation 1 (%s)" % (NEW, OLD)
    )
    assert caught.value.rolled_back is True and caught.value.rc == 1
    assert shell.names() == ["probe", "launch", "probe"]  # the host was looked at: it is back


def test_a_restore_that_failed_says_where_the_host_is():
    shell, a = activator(
        {"probe": [probe(), AFTER], "launch": launched(1, Verdict.FAILED_RESTORED.word, stderr="boom\n")}
    )
    with pytest.raises(NixError) as caught:
        a.switch(SwitchRequest(NEW))
    assert not isinstance(caught.value, ActivationFailed) and caught.value.rolled_back is False
    msg = str(caught.value)
    assert msg.startswith(
        "web: activation (switch) of %s failed, and restoring the previous state failed too: the "
        "profile is %s (was %s), the running system %s (was %s); the restore's output is in "
        "/run/nixfleet/" % (NEW, NEW, OLD, NEW, OLD)
    ), msg
    assert "/restore on the host" in msg


def test_watchdog_confirmed_in_one_fresh_connection():
    confirmed = said(Deletion.DELETED.code, "nixfleet-status\tconfirmed\n" + AFTER.stdout)
    shell, a = activator({"probe": probe(), "launch": launched(0), "confirm": confirmed}, magic_rollback=True)
    outcome = a.switch(SwitchRequest(NEW))
    assert outcome.confirmation == watchdog_confirmation.CONFIRMED and outcome.generation == 2
    assert shell.names() == ["probe", "launch", "confirm"]


def test_watchdog_unconfirmed_because_the_host_stays_unreachable(monkeypatch):
    monkeypatch.setattr(watchdog_confirmation, "RECOVERY_GRACE", 0.2)
    shell, a = activator(
        {
            "probe": probe(),
            "launch": launched(0),
            "confirm": said(255, "", "Connection refused"),
            "status": said(255, "", "Connection refused"),
        },
        magic_rollback=True,
    )
    with pytest.raises(NixError) as caught:
        a.switch(SwitchRequest(NEW))
    assert "lost contact with the host after activating %s (no connection: Connection refused)" % NEW in str(
        caught.value
    )
    assert "it restores generation 1 (%s) by itself 1s after the activation" % OLD in str(caught.value)


def test_watchdog_rolled_back_when_the_confirm_window_closed():
    shell, a = activator(
        {
            "probe": probe(),
            "launch": launched(0),
            "confirm": said(255, "", "timed out"),
            "status": said(0, "nixfleet-status\trolled-back\n"),
            "cleanup": said(),
        },
        magic_rollback=True,
    )
    with pytest.raises(ActivationFailed, match=watchdog_confirmation.ROLLED_BACK_ITSELF):
        a.switch(SwitchRequest(NEW))
    assert shell.names()[-1] == "cleanup"


def state_line(status):
    return said(0, "nixfleet-status\t%s\nnixfleet-holder\t\n" % status)


def test_a_session_that_died_during_the_launch_waits_for_the_verdict_then_probes():
    # No verdict and ssh's 255: the script goes on on the host; its verdict is polled (over fresh
    # connections) until it has one, then the probe reads the new generation.
    shell, a = activator(
        {
            "probe": [probe(), AFTER],
            "launch": said(255, "", "Connection reset by peer"),
            "status": [state_line(""), said(255, "", "Connection refused"), state_line(Verdict.DONE.word)],
        }
    )
    assert a.switch(SwitchRequest(NEW)).generation == 2
    assert shell.names() == ["probe", "launch", "status", "status", "status", "probe"]


def test_a_session_that_died_before_a_failed_activation_reports_the_restore():
    shell, a = activator(
        {
            "probe": [probe(), probe()],
            "launch": said(255, "", "Connection reset by peer"),
            "status": [state_line(""), state_line(Verdict.FAILED_RESTORED.word)],
        }
    )
    with pytest.raises(ActivationFailed, match="rolled back to generation 1"):
        a.switch(SwitchRequest(NEW))


def test_a_probe_that_fails_is_named_and_nothing_is_launched():
    shell, a = activator({"probe": said(1, "", "sudo: a password is required\n")})
    with pytest.raises(
        NixError,
        match="web: reading the generations of %s failed \\(exit code 1\\): sudo: a password is required" % PROFILE,
    ):
        a.switch(SwitchRequest(NEW))
    assert shell.names() == ["probe"]


def test_without_auto_rollback_a_failed_activation_says_it_was_left_as_it_is():
    shell, a = activator({"probe": probe(), "launch": launched(RC_TIMED_OUT, Verdict.FAILED_KEPT.word)})
    a.safety.auto_rollback, a.safety.activation_timeout = False, 5
    with pytest.raises(NixError) as caught:
        a.switch(SwitchRequest(NEW))
    assert (
        "activation (switch) of %s failed, killed after its activation timeout of 5s; left as it is (auto "
        "rollback is off)" % NEW
    ) in str(caught.value)
    assert caught.value.rolled_back is False


PROBE = "profile\tsystem-1-link\ngeneration\tsystem-1-link\t%s\t1\nrunning\t%s\nsystemd\tno\npresent\t0\n" % (OLD, OLD)


def test_reading_needs_no_root_and_changing_asks_for_it():
    shell = OperationShell(
        {"probe": said(0, PROBE), "present": said(0), "launch": said(Verdict.LOCKED.code, "nixfleet-holder\tsomeone\n")}
    )
    activator = Activator(shell, PROFILE, shell, Safety(confirm_timeout=1))
    assert activator.state().running_system == OLD
    assert activator.present(NEW) is True
    assert shell.performed == [("probe", False), ("present", False)]  # the probes: as the login user
    with pytest.raises(NixError, match="another deploy holds the lock"):
        activator.switch(SwitchRequest(NEW))
    assert shell.performed[2:] == [("probe", False), ("launch", True)]  # probe, then the transaction
