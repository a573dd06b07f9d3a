"""The approved-inputs policy as users run it: playbooks/flake_policy.yml, and ad hoc in CI
(ansible localhost -m nixfleet.nixos.flake_policy), on flakes locked by the real nix flake lock."""

import json
import os
import subprocess

import pytest
from playbook_helpers import BIN, run_playbook
from policy_flakes import make_flakes

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def flakes(tmp_path_factory):
    return make_flakes(tmp_path_factory.mktemp("policy-flakes"))


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    path = tmp_path_factory.mktemp("policy-inventory") / "localhost.yml"
    path.write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
    return path


def check(inventory, flakes, name, **extra):
    variables = dict(
        {
            "flake_policy_flake": str(flakes[name]),
            "flake_policy_allowed_nixpkgs": ["git+file://%s*" % flakes["approved"]],
        },
        **extra,
    )
    run = run_playbook(inventory, "flake_policy.yml", extra_vars=variables)
    return run.rc, run.results("Check the approved-inputs policy")["localhost"]


def test_conforming_flake_passes(inventory, flakes):
    rc, result = check(inventory, flakes, "good", flake_policy_max_age_days=30)
    assert rc == 0 and result["violations"] == [] and result["msg"].endswith("follows the inputs policy")


def test_non_conforming_flake_reports_every_violation(inventory, flakes):
    rc, result = check(inventory, flakes, "bad")
    assert rc != 0 and result["failed"]
    assert [(v["rule"], v["input"]) for v in result["violations"]] == [
        ("nixpkgs", "nixpkgs"),
        ("path", "tools"),
        ("follows", "library/nixpkgs"),
    ]
    assert "nixpkgs comes from git+file://%s, which is not an allowed source" % flakes["rogue"] in result["msg"]
    rc, result = check(inventory, flakes, "bad", flake_policy_fail=False)
    assert rc == 0 and len(result["violations"]) == 3 and result["warnings"]


def test_bad_input_is_a_clear_error(inventory, flakes):
    rc, result = check(inventory, flakes, "unlocked")
    assert (
        rc != 0
        and result["msg"]
        == "%s has no flake.lock: run 'nix flake lock' there and commit the lock file; the policy checks what is locked"
        % flakes["unlocked"]
    )
    rc, result = check(inventory, flakes, "broken")
    assert rc != 0 and "nix flake metadata" in result["msg"] and "syntax error" in result["msg"]


def test_ad_hoc_in_ci(flakes):
    argv = [
        os.path.join(BIN, "ansible"),
        "localhost",
        "-c",
        "local",
        "-m",
        "nixfleet.nixos.flake_policy",
        "-a",
        json.dumps({"flake": str(flakes["good"]), "allowed_nixpkgs": ["git+file://%s*" % flakes["approved"]]}),
    ]
    good = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert good.returncode == 0 and "follows the inputs policy" in good.stdout, good.stdout
    bad = subprocess.run(
        argv[:-1]
        + [json.dumps({"flake": str(flakes["bad"]), "allowed_nixpkgs": ["git+file://%s*" % flakes["approved"]]})],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        check=False,
    )
    assert bad.returncode != 0 and "library/nixpkgs does not follow the top-level nixpkgs" in bad.stdout
