"""plugins/action/flake_policy.py: the approved-inputs policy, read by the real ``nix flake metadata``
of flakes locked by the real ``nix flake lock`` (tests/helpers/policy_flakes.py)."""

import pytest

from action_harness import run_action

from policy_flakes import make_flakes

pytestmark = pytest.mark.host_tools


@pytest.fixture(scope="module")
def flakes(tmp_path_factory):
    return make_flakes(tmp_path_factory.mktemp("policy"))


def allowed(flakes):
    return ["git+file://%s/approved-nixpkgs*" % flakes["good"].parent]


def test_a_conforming_flake_passes(flakes):
    result = run_action("flake_policy", {"flake": str(flakes["good"]), "allowed_nixpkgs": allowed(flakes)})
    assert not result.get("failed"), result
    assert result["violations"] == [] and result["changed"] is False
    assert result["flake"] == "path:%s" % flakes["good"]
    assert result["msg"] == "path:%s follows the inputs policy" % flakes["good"]
    assert result["locked_url"].startswith("path:%s" % flakes["good"])


def test_violations_fail_naming_each_input(flakes):
    result = run_action("flake_policy", {"flake": str(flakes["bad"]), "allowed_nixpkgs": allowed(flakes)})
    assert result["failed"] is True
    assert [(v["rule"], v["input"]) for v in result["violations"]] == [
        ("nixpkgs", "nixpkgs"),
        ("path", "tools"),
        ("follows", "library/nixpkgs"),
    ]
    assert result["msg"].startswith("path:%s breaks the inputs policy: nixpkgs comes from" % flakes["bad"])


def test_fail_on_violation_false_warns_and_rules_switch_off(flakes):
    warned = run_action(
        "flake_policy", {"flake": str(flakes["bad"]), "allowed_nixpkgs": allowed(flakes), "fail_on_violation": False}
    )
    assert not warned.get("failed") and len(warned["warnings"]) == 1 and len(warned["violations"]) == 3
    relaxed = run_action(
        "flake_policy", {"flake": str(flakes["bad"]), "require_follows": False, "forbid_path_inputs": False}
    )
    assert not relaxed.get("failed") and relaxed["violations"] == []


def test_a_flake_without_a_lock_or_without_flake_nix_is_refused_before_nix(flakes, tmp_path):
    def no_nix(options):
        raise AssertionError("Nix was called")

    unlocked = run_action("flake_policy", {"flake": str(flakes["unlocked"])}, nix=no_nix)
    assert unlocked["failed"] is True
    assert unlocked["msg"].startswith("%s has no flake.lock: run 'nix flake lock' there" % flakes["unlocked"])
    empty = run_action("flake_policy", {"flake": str(tmp_path)}, nix=no_nix)
    assert empty["failed"] is True and empty["msg"].startswith("%s is not a flake (no flake.nix)" % tmp_path)


def test_a_flake_nix_does_not_parse(flakes):
    result = run_action("flake_policy", {"flake": str(flakes["broken"])})
    assert result["failed"] is True and result["rc"] == 1
    assert result["msg"].startswith(
        "nix flake metadata path:%s failed (exit code 1): error: syntax error" % flakes["broken"]
    )
