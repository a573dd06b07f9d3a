"""Whether to reboot, and whether the host came back on the new system (module_utils._lifecycle.reboot)."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generations import ProfileState
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.reboot import (
    booted_problem,
    came_back,
    reboot_decision,
)


NEW = "/nix/store/fdbsdqh96xcdfvxizjzr90dqy2v5d87k-nixos-system-web-2"


OLD = "/nix/store/vsp9a6ydyqvbnv7majfxkyl0vjdjwlxq-nixos-system-web-1"


K1, K2 = "/nix/store/k1-linux-6.6/bzImage", "/nix/store/k2-linux-6.7/bzImage"


def state(running=NEW, booted=OLD, rk=K2, bk=K1, profile=NEW):
    from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generations import Generation

    return ProfileState("/p", (Generation(1, OLD), Generation(2, profile, current=True)), 2, running, booted, rk, bk)


def test_reboot_if_needed_only_when_kernels_differ():
    assert reboot_decision("if-needed", state(), NEW)[0] is True
    assert "not the booted kernel" in reboot_decision("if-needed", state(), NEW)[1]
    assert reboot_decision("if-needed", state(bk=K2), NEW)[0] is False
    assert reboot_decision("never", state(), NEW)[0] is False
    assert reboot_decision("always", state(bk=K2), NEW)[0] is True


def test_no_reboot_into_something_the_profile_does_not_boot():
    decision = reboot_decision("always", state(profile=OLD), NEW)
    assert decision[0] is False and "does not point at" in decision[1]


def test_unknown_policy():
    with pytest.raises(ValueError):
        reboot_decision("sometimes", state(), NEW)


def test_came_back_needs_a_new_boot_id():
    assert came_back("a1\n", "b2\n") and not came_back("a1\n", "a1") and not came_back("a1", None)


def test_booted_problem():
    assert booted_problem(state(running=NEW, booted=NEW), NEW) is None
    assert booted_problem(state(booted=OLD), NEW) == "booted %s instead of %s" % (OLD, NEW)
    assert "runs" in str(booted_problem(state(running=OLD, booted=NEW), NEW))
