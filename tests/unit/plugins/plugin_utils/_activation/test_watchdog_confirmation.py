"""Magic rollback's confirmation (plugins/plugin_utils/_activation/watchdog_confirmation.py, through
``Activator._confirm``) against a fake shell: what it says when the confirmation fails, and that it tells
the truth about the watchdog.

The fake answers each operation by its name (the confirmation, a status poll, a cleanup) and the
real parsers read its answers; the commands' own shell is tested for real in
module_utils/_transaction/test_command.py and test_operations.py.
"""

import dataclasses

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction import command as tr
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction.protocol import Deletion, Verdict
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generations import Generation, ProfileState
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation import watchdog_confirmation
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.activation import Activator
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.activation_models import Safety
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.watchdog_confirmation import ActivationFailed

from fake_shell import OperationShell, said


NEW = "/nix/store/fdbsdqh96xcdfvxizjzr90dqy2v5d87k-nixos-system-web-2"


OLD = "/nix/store/vsp9a6ydyqvbnv7majfxkyl0vjdjwlxq-nixos-system-web-1"


PROFILE = "/nix/var/nix/profiles/system"


BEFORE = ProfileState(
    profile=PROFILE, generations=(Generation(1, OLD, None, True),), current_number=1, running_system=OLD
)


TX = tr.Transaction(
    path=NEW,
    action="switch",
    profile=PROFILE,
    work_dir="/run/nixfleet/0123456789abcdef",
    owner="test",
    prev_generation=1,
    prev_profile_path=OLD,
    prev_running=OLD,
    confirm_timeout=1,
)


DENIED = "rm: cannot remove '/run/nixfleet/0123456789abcdef/canary': Permission denied\r\n"


def status_line(status):
    return said(0, "nixfleet-status\t%s\nnixfleet-holder\t\n" % (status or ""))


def fake_target(confirm, statuses):
    """Answers the confirmation with ``confirm`` and status polls with ``statuses`` (the last repeats)."""
    return OperationShell({"confirm": [confirm], "status": [status_line(s) for s in statuses], "cleanup": said()})


def result(rc, stdout="", stderr=""):
    return said(rc, stdout, stderr)


@pytest.fixture(autouse=True)
def short_grace(monkeypatch):
    monkeypatch.setattr(watchdog_confirmation, "RECOVERY_GRACE", 1)


def confirm(shell):
    return Activator(shell, PROFILE, shell, Safety(confirm_timeout=1, poll_interval=0.05))._confirm(TX, BEFORE)


def test_a_canary_that_cannot_be_deleted_says_so_and_waits_for_the_watchdogs_rollback():
    # Over a tty (become) rm's error arrives on stdout.
    shell = fake_target(
        result(Deletion.REFUSED.code, DENIED + "nixfleet-status\t\n"), [None, None, Verdict.ROLLED_BACK.word]
    )
    with pytest.raises(ActivationFailed) as caught:
        confirm(shell)
    msg = str(caught.value)
    assert msg.startswith(
        "web: the new generation %s could not be confirmed: 'rm -f %s' over a fresh ssh "
        "connection failed: %s" % (NEW, TX.canary, DENIED.strip())
    )
    assert msg.endswith(
        "so the target's watchdog rolled back to generation 1 (%s) when its 1s confirm window closed" % OLD
    )
    assert caught.value.rolled_back is True
    # One attempt only (deleting again cannot help), then status polls until the verdict, then cleanup.
    assert shell.names()[0] == "confirm" and shell.names().count("confirm") == 1
    assert shell.names()[-1] == "cleanup" and set(shell.names()[1:-1]) == {"status"}
    assert all(privileged for _n, privileged in shell.performed)  # the canary and the work directory are root's


def test_a_host_that_stays_unreachable_is_reported_with_the_last_ssh_error_and_the_real_wait():
    refused = "ssh: connect to host 127.0.0.1 port 22: Connection refused"
    shell = fake_target(result(255, "", refused), [None])
    with pytest.raises(NixError) as caught:
        confirm(shell)
    msg = str(caught.value)
    assert not isinstance(caught.value, ActivationFailed)  # nobody knows yet that it rolled back
    assert msg.startswith(
        "web: lost contact with the host after activating %s (no connection: %s); waited 2s" % (NEW, refused)
    ), msg
    assert msg.endswith(
        "for its watchdog's verdict: unconfirmed, it restores generation 1 (%s) by itself 1s after the activation" % OLD
    )


def test_a_host_that_comes_back_rolled_back_names_the_last_attempts_error():
    shell = fake_target(
        result(255, "", "Connection timed out during banner exchange"), [None, Verdict.ROLLED_BACK.word]
    )
    with pytest.raises(ActivationFailed) as caught:
        confirm(shell)
    assert str(caught.value) == (
        "web: %s: no fresh ssh connection to the host within 1s of activating %s, so the target rolled itself back "
        "to generation 1 (%s) (last attempt: no connection: Connection timed out during banner exchange)"
        % (watchdog_confirmation.ROLLED_BACK_ITSELF, NEW, OLD)
    )


def test_a_failing_privilege_escalation_is_named():
    shell = fake_target(result(1, "sudo: a password is required\r\n"), [Verdict.ROLLED_BACK.word])
    with pytest.raises(ActivationFailed) as caught:
        confirm(shell)
    assert (
        "could not be confirmed: the confirmation over a fresh ssh connection failed (exit code 1): "
        "sudo: a password is required; so the target's watchdog rolled back" in str(caught.value)
    )


def test_a_confirmed_generation_needs_one_connection():
    probe = "nixfleet-status\t%s\n" % Verdict.CONFIRMED.word
    shell = fake_target(result(Deletion.DELETED.code, probe), [None])
    assert confirm(shell) == watchdog_confirmation.CONFIRMED
    assert shell.names() == ["confirm"]


def test_no_generation_before_is_said_in_words():
    assert (
        watchdog_confirmation.restored(ProfileState(profile=PROFILE), TX)
        == "the state before (no generation, nothing running)"
    )


def test_a_deploy_rs_profile_is_restored_to_its_own_generation_not_the_running_system():
    profile = "/nix/var/nix/profiles/per-user/alice/app"
    tx = dataclasses.replace(TX, profile=profile, activates=tr.Activates.DEPLOY_RS)
    before = ProfileState(profile=profile, current_number=3, running_system=OLD)
    assert watchdog_confirmation.restored(before, tx) == "generation 3 of %s" % profile
    assert watchdog_confirmation.restored(ProfileState(profile=profile), tx) == "no generation of %s" % profile
