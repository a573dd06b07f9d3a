"""Magic rollback's confirmation (``Activator._confirm``) against a fake shell: what it says when the
confirmation fails, and that it tells the truth about the watchdog.

The fake answers each command by what it is (the confirmation, a status poll, a cleanup), as the
target's shell would; the commands' own shell is tested for real in test_transaction.py.
"""
from typing import Callable, List, Optional

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils import transaction as tr
from ansible_collections.nixfleet.nixos.plugins.module_utils.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils.generations import Generation, ProfileState
from ansible_collections.nixfleet.nixos.plugins.plugin_utils import activation
from ansible_collections.nixfleet.nixos.plugins.plugin_utils.activation import (
    ActivationFailed, Activator, Safety)
from ansible_collections.nixfleet.nixos.plugins.plugin_utils.process import CommandResult
from ansible_collections.nixfleet.nixos.plugins.plugin_utils.remote_shell import RemoteShell

NEW = "/nix/store/fdbsdqh96xcdfvxizjzr90dqy2v5d87k-nixos-system-web-2"
OLD = "/nix/store/vsp9a6ydyqvbnv7majfxkyl0vjdjwlxq-nixos-system-web-1"
PROFILE = "/nix/var/nix/profiles/system"
BEFORE = ProfileState(profile=PROFILE, generations=(Generation(1, OLD, None, True),), current_number=1,
                      running_system=OLD)
TX = tr.Transaction(path=NEW, action="switch", profile=PROFILE, work_dir="/run/nixfleet/0123456789abcdef",
                    owner="test", prev_generation=1, prev_profile_path=OLD, prev_running=OLD, confirm_timeout=1)
DENIED = "rm: cannot remove '/run/nixfleet/0123456789abcdef/canary': Permission denied\r\n"


class FakeShell(RemoteShell):
    """Answers the confirmation with ``confirm`` and status polls with ``statuses`` (the last repeats)."""

    label = "web"

    def __init__(self, confirm: Callable[[], CommandResult], statuses: List[Optional[str]]) -> None:
        self.confirm, self.statuses, self.ran = confirm, list(statuses), []

    def run(self, command, stdin=None, sensitive=False, privileged=True):
        self.ran.append((command, privileged))
        if command.startswith("if [ -e %s" % TX.canary):
            return self.confirm()
        if command.startswith("printf 'nixfleet-status"):
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            return CommandResult([command], 0, "nixfleet-status\t%s\nnixfleet-holder\t\n" % (status or ""), "")
        if command.startswith("rm -rf"):
            return CommandResult([command], 0, "", "")
        raise AssertionError("unexpected command %r" % command)


def result(rc, stdout="", stderr=""):
    return lambda: CommandResult(["confirm"], rc, stdout, stderr)


@pytest.fixture(autouse=True)
def short_grace(monkeypatch):
    monkeypatch.setattr(activation, "RECOVERY_GRACE", 1)


def confirm(shell):
    return Activator(shell, PROFILE, shell, Safety(confirm_timeout=1, poll_interval=0.05))._confirm(TX, BEFORE)


def test_a_canary_that_cannot_be_deleted_says_so_and_waits_for_the_watchdogs_rollback():
    # Over a tty (become) rm's error arrives on stdout.
    shell = FakeShell(result(tr.CONFIRM_REFUSED, DENIED + "nixfleet-status\t\n"), [None, None, tr.STATUS_ROLLED_BACK])
    with pytest.raises(ActivationFailed) as caught:
        confirm(shell)
    msg = str(caught.value)
    assert msg.startswith("web: the new generation %s could not be confirmed: 'rm -f %s' over a fresh ssh "
                          "connection failed: %s" % (NEW, TX.canary, DENIED.strip()))
    assert msg.endswith("so the target's watchdog rolled back to generation 1 (%s) when its 1s confirm window "
                        "closed" % OLD)
    assert caught.value.rolled_back is True
    # One attempt only (deleting again cannot help), then status polls until the verdict, then cleanup.
    confirms = [c for c, _p in shell.ran if c.startswith("if [ -e")]
    assert len(confirms) == 1 and shell.ran[-1][0] == tr.cleanup_command(TX)
    assert all(privileged for _c, privileged in shell.ran)  # the canary and the work directory are root's


def test_a_host_that_stays_unreachable_is_reported_with_the_last_ssh_error_and_the_real_wait():
    refused = "ssh: connect to host 127.0.0.1 port 22: Connection refused"
    shell = FakeShell(result(255, "", refused), [None])
    with pytest.raises(NixError) as caught:
        confirm(shell)
    msg = str(caught.value)
    assert not isinstance(caught.value, ActivationFailed)  # nobody knows yet that it rolled back
    assert msg.startswith("web: lost contact with the host after activating %s (no connection: %s); waited 2s"
                          % (NEW, refused)), msg
    assert msg.endswith("for its watchdog's verdict: unconfirmed, it restores generation 1 (%s) by itself 1s after "
                        "the activation" % OLD)


def test_a_host_that_comes_back_rolled_back_names_the_last_attempts_error():
    shell = FakeShell(result(255, "", "Connection timed out during banner exchange"), [None, tr.STATUS_ROLLED_BACK])
    with pytest.raises(ActivationFailed) as caught:
        confirm(shell)
    assert str(caught.value) == (
        "web: %s: no fresh ssh connection to the host within 1s of activating %s, so the target rolled itself back "
        "to generation 1 (%s) (last attempt: no connection: Connection timed out during banner exchange)"
        % (activation.ROLLED_BACK_ITSELF, NEW, OLD))


def test_a_failing_privilege_escalation_is_named():
    shell = FakeShell(result(1, "sudo: a password is required\r\n"), [tr.STATUS_ROLLED_BACK])
    with pytest.raises(ActivationFailed) as caught:
        confirm(shell)
    assert "could not be confirmed: the confirmation over a fresh ssh connection failed (exit code 1): " \
           "sudo: a password is required; so the target's watchdog rolled back" in str(caught.value)


def test_a_confirmed_generation_needs_one_connection():
    probe = "nixfleet-status\t%s\n" % tr.STATUS_CONFIRMED
    shell = FakeShell(result(tr.CONFIRM_DELETED, probe), [None])
    assert confirm(shell) == activation.CONFIRMED
    assert len(shell.ran) == 1


def test_no_generation_before_is_said_in_words():
    assert activation._restored(ProfileState(profile=PROFILE)) == "the state before (no generation, nothing running)"


class RecordingShell(RemoteShell):
    """Answers the state probe (with ``present`` as the toplevel check's exit code) and the
    transaction's launch (as a host where another deploy holds the lock); records each command's
    privilege."""

    label = "web"

    def __init__(self, present=0):
        self.present, self.ran = present, []

    def run(self, command, stdin=None, sensitive=False, privileged=True):
        self.ran.append((command.split()[0], privileged))
        if "systemd-run" in command or "setsid sh -c" in command:  # the transaction's launch
            return CommandResult([command], tr.RC_LOCKED, "nixfleet-holder\tsomeone\n", "")
        return CommandResult([command], 0, "profile\tsystem-1-link\ngeneration\tsystem-1-link\t%s\t1\n"
                             "running\t%s\nsystemd\tno\npresent\t%d\n" % (OLD, OLD, self.present), "")


def test_reading_needs_no_root_and_changing_asks_for_it():
    shell = RecordingShell()
    activator = Activator(shell, PROFILE, shell, Safety(confirm_timeout=1))
    assert activator.state().running_system == OLD
    assert activator.present(NEW) is True
    assert [privileged for _word, privileged in shell.ran] == [False, False]  # the probes: as the login user
    with pytest.raises(NixError, match="another deploy holds the lock"):
        activator.switch(NEW)
    assert [privileged for _word, privileged in shell.ran[2:]] == [False, True]  # probe, then the transaction
