"""plugins/action/rollback.py: back to the generation before the current one (or to generation N) through
the real Activator, against a target that answers its probe and its transaction's launch by name as the
real script prints them (tests/helpers/activator_answers.py); check mode, --diff, an unchanged host, the
audit's deployer, and a bad option's clear error."""

import getpass
import socket

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction.protocol import Deletion, Verdict

from action_harness import ActionShell, run_action, said
from activator_answers import NEW, OLD, launched, probe

ON_NEW = probe(2, NEW, ((1, OLD), (2, NEW)))  # generation 2 current and running
BACK_ON_OLD = probe(1, OLD, ((1, OLD), (2, NEW)))
NO_WATCHDOG = {"magic_rollback": False}


def test_a_rollback_switches_to_the_generation_before_and_returns_what_the_docs_promise():
    scripts = []

    def launch(operation):
        scripts.append(operation.command.text)
        return launched(0, Verdict.DONE.word)

    shell = ActionShell({"probe": [ON_NEW, BACK_ON_OLD], "launch": launch})
    result = run_action("rollback", NO_WATCHDOG, shell, task_vars={"awx_job_id": 42, "awx_user_name": "bob"})
    assert not result.get("failed"), result
    assert (result["changed"], result["action"], result["path"], result["previous_path"]) == (True, "switch", OLD, NEW)
    assert (result["previous_generation"], result["generation"]) == (2, 1)
    assert (result["exit_code"], result["failed_units"], result["confirmation"]) == (0, False, "not requested")
    assert result["stdout"] == "activating the configuration...\n" and result["stderr"] == ""
    assert result["deployed_by"] == "%s@%s, AWX job 42 by bob" % (getpass.getuser(), socket.gethostname())
    assert shell.names() == ["probe", "launch", "probe"]
    # the transaction goes to generation 1 and the host's audit log records a rollback by bob's AWX job
    assert " path=%s " % OLD in scripts[0] and " to_generation=1 " in scripts[0] and " action=switch " in scripts[0]
    assert '"awx_job": "42", "awx_user": "bob"' in scripts[0] and '"kind": "rollback"' in scripts[0]


def test_with_magic_rollback_the_rollback_is_confirmed_over_a_fresh_connection():
    confirmed = said(Deletion.DELETED.code, "nixfleet-status\tconfirmed\n" + BACK_ON_OLD.stdout)
    shell = ActionShell({"probe": ON_NEW, "launch": launched(0), "confirm": confirmed})
    result = run_action("rollback", {"confirm_timeout": 5}, shell)
    assert not result.get("failed"), result
    assert result["confirmation"] == "confirmed" and result["generation"] == 1
    assert shell.names() == ["probe", "launch", "confirm"]


def test_check_mode_probes_only_and_diff_shows_the_generations():
    shell = ActionShell({"probe": ON_NEW})
    result = run_action("rollback", {}, shell, check_mode=True, diff=True)
    assert result["changed"] is True and (result["path"], result["generation"]) == (OLD, 1)
    assert result["diff"] == {"before": "generation 2: %s\n" % NEW, "after": "generation 1: %s\n" % OLD}
    assert "deployed_by" not in result  # nothing was changed, so nobody made a change
    assert shell.names() == ["probe"]


def test_a_rollback_to_the_generation_that_runs_changes_nothing():
    shell = ActionShell({"probe": ON_NEW})
    result = run_action("rollback", {"generation": 2}, shell, diff=True)
    assert not result.get("failed"), result
    assert result["changed"] is False and "diff" not in result and "deployed_by" not in result
    assert shell.names() == ["probe"]


def test_boot_makes_the_older_generation_the_boot_entry_only():
    booted_old = probe(1, NEW, ((1, OLD), (2, NEW)))  # profile on 1, NEW still running
    shell = ActionShell({"probe": [ON_NEW, booted_old], "launch": launched(0, Verdict.DONE.word)})
    result = run_action("rollback", {"action": "boot"}, shell)
    assert not result.get("failed"), result
    assert (result["action"], result["changed"], result["generation"]) == ("boot", True, 1)
    assert result["confirmation"] == "not requested"  # boot runs nothing live: no watchdog


def test_a_generation_that_is_not_there_is_named_with_the_ones_that_are():
    shell = ActionShell({"probe": ON_NEW})
    result = run_action("rollback", {"generation": 7}, shell)
    assert result["failed"] is True
    assert "/nix/var/nix/profiles/system has no generation 7 (generations: 1, 2)" in result["msg"]
    assert shell.names() == ["probe"]


def test_only_one_generation_means_nothing_to_roll_back_to():
    shell = ActionShell({"probe": probe()})
    result = run_action("rollback", {}, shell)
    assert result["failed"] is True
    assert "has no generation older than the current one (generations: 1)" in result["msg"]


def test_an_action_that_changes_nothing_is_refused_before_the_target_is_asked():
    shell = ActionShell()
    with pytest.raises(
        AnsibleActionFail, match="value of action must be one of: switch, boot, test, got: dry-activate"
    ):
        run_action("rollback", {"action": "dry-activate"}, shell)
    assert shell.performed == []
