"""Which generations a retention policy keeps (module_utils._lifecycle.retention): each keep rule alone and
together, the generations that always stay, undated generations, bad policies."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generations import Generation, ProfileState
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.retention import (
    DAY,
    KeepReason,
    RetentionPolicy,
    plan_pruning,
)

NOW = 1_800_000_000
P = "/nix/var/nix/profiles/system"


def path(n):
    return "/nix/store/%s-nixos-system-h-%d" % (chr(ord("a") + n) * 32, n)


def state(ages, current, running=None, booted=None, undated=()):
    """Generations 1..len(ages), generation n made ages[n-1] days before NOW."""
    gens = tuple(
        Generation(n, path(n), None if n in undated else NOW - int(age * DAY), n == current)
        for n, age in enumerate(ages, start=1)
    )
    return ProfileState(
        profile=P,
        generations=gens,
        current_number=current,
        running_system=path(running) if running else None,
        booted_system=path(booted) if booted else None,
    )


def deleted(pruning):
    return [g.number for g in pruning.delete]


def test_keep_last_keeps_the_newest_by_number():
    s = state([50, 40, 30, 20, 10], current=5, running=5)
    pruning = plan_pruning(s, RetentionPolicy(keep_last=2), NOW)
    assert deleted(pruning) == [1, 2, 3]
    assert pruning.keep == {5: (KeepReason.CURRENT, KeepReason.RUNNING, KeepReason.LAST), 4: (KeepReason.LAST,)}


def test_keep_days_keeps_the_young_ones():
    s = state([30, 8, 6.9, 1], current=4, running=4)
    pruning = plan_pruning(s, RetentionPolicy(keep_days=7), NOW)
    assert deleted(pruning) == [1, 2]
    assert pruning.keep[3] == (KeepReason.RECENT,)


def test_both_rules_keep_what_either_keeps():
    s = state([30, 20, 10, 5, 1], current=5, running=5)
    # keep_last 2 keeps 4 and 5; keep_days 15 keeps 3, 4 and 5.
    assert deleted(plan_pruning(s, RetentionPolicy(keep_last=2, keep_days=15), NOW)) == [1, 2]


def test_current_running_booted_and_protected_always_stay():
    s = state([9, 8, 7, 6, 5, 4], current=3, running=2, booted=1)
    pruning = plan_pruning(s, RetentionPolicy(keep_last=0), NOW, protect=[path(4)])
    assert deleted(pruning) == [5, 6]
    assert pruning.keep == {
        1: (KeepReason.BOOTED,),
        2: (KeepReason.RUNNING,),
        3: (KeepReason.CURRENT,),
        4: (KeepReason.PROTECTED,),
    }


def test_a_current_generation_older_than_newer_ones_stays():
    # After a rollback the current generation is not the newest.
    s = state([3, 2, 1], current=1, running=1)
    assert deleted(plan_pruning(s, RetentionPolicy(keep_last=1), NOW)) == [2]


def test_an_undated_generation_is_not_judged_by_age():
    s = state([30, 30, 1], current=3, running=3, undated=[2])
    pruning = plan_pruning(s, RetentionPolicy(keep_days=7), NOW)
    assert deleted(pruning) == [1] and pruning.keep[2] == (KeepReason.UNDATED,)


def test_no_rule_prunes_nothing():
    s = state([30, 20, 10], current=3)
    pruning = plan_pruning(s, RetentionPolicy(), NOW)
    assert deleted(pruning) == [] and sorted(pruning.keep) == [1, 2, 3]


def test_the_result_lists_numbers_and_reasons():
    s = state([2, 1], current=2, running=2)
    result = plan_pruning(s, RetentionPolicy(keep_last=1), NOW).to_result()
    assert [g["number"] for g in result["deleted"]] == [1]
    assert result["kept"] == [{"number": 2, "reasons": ["current", "running", "last"]}]


@pytest.mark.parametrize("kwargs", [{"keep_last": -1}, {"keep_days": -3}, {"keep_last": "5"}, {"keep_days": True}])
def test_bad_policies_are_refused(kwargs):
    with pytest.raises(ValueError, match="must be a whole number"):
        RetentionPolicy(**kwargs)
