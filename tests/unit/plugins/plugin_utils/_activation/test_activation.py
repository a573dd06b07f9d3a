"""Activator (plugins/plugin_utils/_activation/activation.py): the phases before the transaction (plan,
the copy folded into the switch, prepare), check mode, dry-activate, switch inhibitors, specialisations and
rollback, against a target that answers each operation by name (tests/helpers/fake_shell.py).

The copy folded into the switch (``Activator``'s phases as the switch action runs them with ``copy``:
``switch`` below): the one probe decides whether to copy, the system is probed again once it is there,
the pre-activation step runs only once it is there, and a failed copy changes nothing. The probe's
validity test is run for real against the real Nix store."""

from typing import List, Tuple

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction.protocol import Verdict
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.activation_models import SwitchRequest
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import generation_commands as ac
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command

from activator_answers import AFTER, NEW, OLD, activator, launched, probe, switch_as_the_action_does as switch
from fake_shell import said


def test_check_mode_and_unchanged_hosts_launch_nothing():
    shell, a = activator({"probe": probe(2, NEW, ((1, OLD), (2, NEW)))})
    assert a.switch(SwitchRequest(NEW)).changed is False
    assert a.switch(SwitchRequest(OLD, check_mode=True)).changed is True
    assert shell.names() == ["probe", "probe"]


def test_a_rollback_switches_to_the_older_generation():
    shell, a = activator(
        {
            "probe": [probe(2, NEW, ((1, OLD), (2, NEW))), probe(1, OLD, ((1, OLD), (2, NEW)))],
            "launch": launched(0, Verdict.DONE.word),
        }
    )
    outcome = a.rollback()
    assert (outcome.path, outcome.generation, outcome.changed) == (OLD, 1, True)


def test_dry_activate_runs_directly_and_fails_clearly():
    shell, a = activator({"probe": probe(), "dry-activate": said(1, "", "would fail\n")})
    with pytest.raises(NixError, match="dry-activate of %s failed" % NEW):
        a.switch(SwitchRequest(NEW, action="dry-activate"))
    assert shell.names() == ["probe", "dry-activate"]


def test_a_path_that_is_not_a_toplevel_is_refused_before_anything_runs():
    shell, a = activator({"probe": probe(present=2)})
    with pytest.raises(NixError, match="is not a NixOS system toplevel"):
        a.switch(SwitchRequest(NEW))
    assert shell.names() == ["probe"]


def inhibited_probe(*args, **kwargs):
    """The probe of a host whose running system's switch inhibitors differ from the new system's."""
    said_probe = probe(*args, **kwargs)
    return said(
        0,
        said_probe.stdout + "inhibitors_running\t/nix/store/a-systemd-257 \n"
        "inhibitors_new\t/nix/store/b-systemd-258 \n",
    )


def test_inhibitors_that_differ_fail_the_switch_before_anything_runs():
    shell, a = activator({"probe": inhibited_probe()})
    with pytest.raises(
        NixError,
        match=r"switch inhibitors .* \(/nix/store/a-systemd-257 -> /nix/store/b-systemd-258\).*"
        r"nothing was changed",
    ):
        a.switch(SwitchRequest(NEW))
    assert shell.names() == ["probe"]


def test_inhibitors_that_differ_with_on_inhibited_boot_make_it_the_boot_entry():
    def launch(operation):
        # the script runs switch-to-configuration ACTION with the action it is given
        assert " action=boot " in operation.command.text
        assert " action=switch " not in operation.command.text
        return launched(0, Verdict.DONE.word)

    shell, a = activator({"probe": [inhibited_probe(), probe(2, OLD, ((1, OLD), (2, NEW)))], "launch": launch})
    outcome = a.switch(SwitchRequest(NEW, on_inhibited="boot"))
    assert (outcome.action, outcome.inhibited, outcome.changed, outcome.generation) == ("boot", True, True, 2)
    assert "made it the boot entry instead" in " ".join(outcome.warnings)


def test_test_cannot_be_turned_into_boot():
    shell, a = activator({"probe": inhibited_probe()})
    with pytest.raises(NixError, match="refuses to test it live"):
        a.switch(SwitchRequest(NEW, "test", on_inhibited="boot"))


SPECIAL = "/nix/store/0hxb6g0g9n6is6vmy325k8kpl8k5h3bd-nixos-system-web-2-gpu"


def with_specialisation(answer, found, names):
    return said(answer.rc, answer.stdout + "specialisation\t%s\nspecialisations\t%s\n" % (found, names))


def test_a_missing_specialisation_fails_before_anything_changes_naming_the_ones_there():
    shell, a = activator({"probe": with_specialisation(probe(), "", "gpu safe ")})
    with pytest.raises(NixError) as caught:
        a.switch(SwitchRequest(NEW, specialisation="desktop"))
    assert "%s has no specialisation 'desktop' (it has: gpu, safe); nothing was changed" % NEW in str(caught.value)
    assert shell.names() == ["probe"]


@pytest.mark.parametrize(
    "name, action, wrong",
    [
        ("../../etc", "switch", "is not a specialisation name"),
        ("gpu;reboot", "switch", "is not a specialisation name"),
        ("gpu", "boot", "a specialisation is activated by switch or test, not boot"),
    ],
)
def test_a_specialisation_that_cannot_be_refused_before_the_probe(name, action, wrong):
    shell, a = activator({})
    with pytest.raises(NixError, match=wrong):
        a.switch(SwitchRequest(NEW, action, specialisation=name))
    assert shell.names() == []


def test_a_running_specialisation_is_idempotent_and_its_base_stays_the_profile():
    running = probe(2, SPECIAL, ((1, OLD), (2, NEW)))
    shell, a = activator({"probe": with_specialisation(running, SPECIAL, "gpu ")})
    outcome = a.switch(SwitchRequest(NEW, specialisation="gpu"))
    assert (outcome.changed, outcome.activated_path) == (False, SPECIAL)
    # the base system running instead is a change
    shell, a = activator(
        {"probe": with_specialisation(AFTER, SPECIAL, "gpu "), "launch": launched(0, Verdict.DONE.word)}
    )
    assert a.switch(SwitchRequest(NEW, specialisation="gpu", check_mode=True)).changed is True


MISSING = probe(present=3)


def recorder(shell, steps, name):
    """A step that notes itself and which operations ran before it."""
    return lambda: steps.append((name, list(shell.names())))


def test_a_missing_system_is_fetched_probed_again_then_readied_and_switched():
    shell, a = activator({"probe": [MISSING, probe(), AFTER], "launch": launched(0, Verdict.DONE.word)})
    steps: List[Tuple[str, List[str]]] = []
    outcome = switch(
        a, SwitchRequest(NEW), fetch=recorder(shell, steps, "fetch"), ready=recorder(shell, steps, "ready")
    )
    assert outcome.changed is True and outcome.generation == 2
    assert steps == [("fetch", ["probe"]), ("ready", ["probe", "probe"])]  # readied after the second probe
    assert shell.names() == ["probe", "probe", "launch", "probe"]


def test_a_system_the_controller_holds_is_not_probed_again_after_the_fetch():
    """The copy succeeded, so the path is valid there; what the first probe could not read about it
    (its switch inhibitors) comes from the controller's copy: one probe less per changed host."""
    shell, a = activator({"probe": [MISSING, AFTER], "launch": launched(0, Verdict.DONE.word)})
    steps: List[Tuple[str, List[str]]] = []
    outcome = switch(
        a,
        SwitchRequest(NEW, known_here=True, inhibitors_elsewhere=""),
        fetch=recorder(shell, steps, "fetch"),
        ready=recorder(shell, steps, "ready"),
    )
    assert outcome.changed is True and outcome.generation == 2
    assert steps == [("fetch", ["probe"]), ("ready", ["probe"])]
    assert shell.names() == ["probe", "launch", "probe"]  # the last one: the state after the switch


def test_after_such_a_fetch_the_new_systems_inhibitors_come_from_the_controllers_copy():
    systemd_a, systemd_b = ("/nix/store/0000000000000000000000000000000%s-systemd" % c for c in "ab")
    # the probe ran before the copy: it saw the running system's inhibitors, and no file of the new one
    missing = said(0, MISSING.stdout + "inhibitors_running\t%s\ninhibitors_new\t\n" % systemd_a)
    shell, a = activator({"probe": [missing, AFTER], "launch": launched(0, Verdict.DONE.word)})
    same = switch(a, SwitchRequest(NEW, known_here=True, inhibitors_elsewhere=systemd_a + "\n"), fetch=lambda: None)
    assert same.changed is True and same.inhibited is False and shell.names() == ["probe", "launch", "probe"]
    shell, a = activator({"probe": [missing]})
    with pytest.raises(NixError, match="switch inhibitors .* differ"):
        switch(a, SwitchRequest(NEW, known_here=True, inhibitors_elsewhere=systemd_b + "\n"), fetch=lambda: None)
    assert shell.names() == ["probe"]  # refused before anything was activated


def test_a_specialisation_is_probed_again_after_the_fetch_even_when_the_controller_holds_it():
    shell, a = activator({"probe": [MISSING, MISSING]})
    with pytest.raises(NixError):
        switch(
            a, SwitchRequest(NEW, known_here=True, inhibitors_elsewhere="", specialisation="web"), fetch=lambda: None
        )
    assert shell.names() == ["probe", "probe"]


def test_the_first_probe_asks_for_a_valid_path_only_when_it_may_fetch():
    for fetch, expected in ((None, ac.is_toplevel_command(NEW)), (lambda: None, ac.is_valid_toplevel_command(NEW))):
        commands: List[Command] = []

        def answer(op):
            commands.append(op.command)  # noqa: B023 (called within this iteration)
            return probe(2, NEW, ((1, OLD), (2, NEW)))

        shell, a = activator({"probe": answer})
        switch(a, SwitchRequest(NEW), fetch=fetch)
        assert expected.text in commands[0].text
    assert "nix-store --check-validity" not in ac.is_toplevel_command(NEW).text


def test_a_system_already_there_is_not_fetched_and_an_unchanged_host_costs_one_probe():
    shell, a = activator({"probe": probe(2, NEW, ((1, OLD), (2, NEW)))})
    steps: List[Tuple[str, List[str]]] = []
    outcome = switch(
        a, SwitchRequest(NEW), fetch=recorder(shell, steps, "fetch"), ready=recorder(shell, steps, "ready")
    )
    assert outcome.changed is False
    assert steps == [("ready", ["probe"])]  # the keys are still brought up to date
    assert shell.names() == ["probe"]


def test_check_mode_fetches_nothing_and_reports_the_change():
    shell, a = activator({"probe": MISSING})
    steps: List[Tuple[str, List[str]]] = []
    outcome = switch(
        a,
        SwitchRequest(NEW, check_mode=True),
        fetch=recorder(shell, steps, "fetch"),
        ready=recorder(shell, steps, "ready"),
    )
    assert outcome.changed is True
    assert [step[0] for step in steps] == ["ready"] and shell.names() == ["probe"]


def test_a_failed_fetch_readies_and_launches_nothing():
    shell, a = activator({"probe": MISSING})
    steps: List[Tuple[str, List[str]]] = []

    def fetch():
        raise NixError("nix copy to ssh-ng://root@web failed", host="web")

    with pytest.raises(NixError, match="nix copy to ssh-ng://root@web failed"):
        switch(a, SwitchRequest(NEW), fetch=fetch, ready=recorder(shell, steps, "ready"))
    assert steps == [] and shell.names() == ["probe"]


def test_a_system_still_missing_after_the_fetch_is_not_switched():
    shell, a = activator({"probe": [MISSING, MISSING]})
    steps: List[Tuple[str, List[str]]] = []
    with pytest.raises(NixError, match="is not in the target's store"):
        switch(a, SwitchRequest(NEW), fetch=recorder(shell, steps, "fetch"), ready=recorder(shell, steps, "ready"))
    assert [step[0] for step in steps] == ["fetch"] and shell.names() == ["probe", "probe"]
