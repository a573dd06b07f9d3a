"""activation_models (plugins/plugin_utils/_activation/activation_models.py): whether an action changes
a host (``needs_change``: switch sets the profile and the running system, boot the profile only, test
the running system only, dry-activate nothing), when the switch must copy first (``SwitchPlan.needs_copy``)
and what an outcome reports."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generations import Generation, ProfileState
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.activation_models import (
    NOT_REQUESTED,
    Outcome,
    SwitchPlan,
    SwitchRequest,
    needs_change,
)

OLD = "/nix/store/vsp9a6ydyqvbnv7majfxkyl0vjdjwlxq-nixos-system-web-1"
NEW = "/nix/store/fdbsdqh96xcdfvxizjzr90dqy2v5d87k-nixos-system-web-2"
SPECIAL = NEW + "/specialisation/gpu"
PROFILE = "/nix/var/nix/profiles/system"


def state(profile_path, running):
    """A host whose profile points at ``profile_path`` (generation 1; None: no generation) running ``running``."""
    generations = (Generation(1, profile_path, None, True),) if profile_path else ()
    return ProfileState(
        profile=PROFILE,
        generations=generations,
        current_number=1 if profile_path else None,
        running_system=running,
    )


@pytest.mark.parametrize(
    "profile_path, running, action, changes",
    [
        # everything already NEW: no action changes anything
        (NEW, NEW, "switch", False),
        (NEW, NEW, "boot", False),
        (NEW, NEW, "test", False),
        # still on OLD: every changing action changes
        (OLD, OLD, "switch", True),
        (OLD, OLD, "boot", True),
        (OLD, OLD, "test", True),
        # made the boot entry, not running yet: boot is done, switch and test are not
        (NEW, OLD, "boot", False),
        (NEW, OLD, "switch", True),
        (NEW, OLD, "test", True),
        # tested live, not the profile: test is done, switch and boot are not
        (OLD, NEW, "test", False),
        (OLD, NEW, "switch", True),
        (OLD, NEW, "boot", True),
        # a host with no generation yet
        (None, None, "switch", True),
        (None, NEW, "boot", True),
        (None, NEW, "test", False),
        # dry-activate never changes anything
        (OLD, OLD, "dry-activate", False),
        (None, None, "dry-activate", False),
    ],
)
def test_an_action_changes_what_it_sets_and_only_that(profile_path, running, action, changes):
    assert needs_change(state(profile_path, running), NEW, action) is changes


def test_a_specialisation_must_run_while_the_profile_keeps_the_base_system():
    # the profile is the base system; the specialisation's toplevel is what must run
    assert needs_change(state(NEW, SPECIAL), NEW, "switch", running=SPECIAL) is False
    assert needs_change(state(NEW, NEW), NEW, "switch", running=SPECIAL) is True
    assert needs_change(state(NEW, NEW), NEW, "test", running=SPECIAL) is True
    assert needs_change(state(OLD, SPECIAL), NEW, "switch", running=SPECIAL) is True  # the profile is behind


@pytest.mark.parametrize(
    "copies, present, check_mode, needs_copy",
    [
        (True, False, False, True),
        (True, True, False, False),  # already on the host
        (True, False, True, False),  # check mode copies nothing
        (False, False, False, False),  # the caller does not copy
    ],
)
def test_the_switch_copies_only_a_missing_system_it_was_asked_to_copy_outside_check_mode(
    copies, present, check_mode, needs_copy
):
    plan = SwitchPlan(SwitchRequest(NEW, copies=copies, check_mode=check_mode), state(OLD, OLD), "", present)
    assert plan.needs_copy is needs_copy


def test_an_outcome_reports_every_field_and_a_copy_of_its_warnings():
    outcome = Outcome(True, "switch", NEW, OLD, 1, generation=2, warnings=["w"])
    result = outcome.to_result()
    assert result == {
        "changed": True,
        "action": "switch",
        "path": NEW,
        "previous_path": OLD,
        "previous_generation": 1,
        "generation": 2,
        "exit_code": None,
        "failed_units": False,
        "inhibited": False,
        "confirmation": NOT_REQUESTED,
        "specialisation": None,
        "activated_path": None,
        "install_bootloader": False,
        "stdout": "",
        "stderr": "",
        "warnings": ["w"],
    }
    result["changed"] = False
    assert outcome.changed is True  # the result is a new dict
