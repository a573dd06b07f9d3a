"""The approved-inputs policy on lock files made by the real nix flake lock (and two hand-made
graphs for sources that need the network: github)."""

import json
import time

import pytest
from policy_flakes import make_flakes

from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes import flake_policy as fp


@pytest.fixture(scope="module")
def flakes(tmp_path_factory):
    return make_flakes(tmp_path_factory.mktemp("policy"))


def load(path):
    return json.loads((path / "flake.lock").read_text())


def policy(flakes, **kw):
    return fp.Policy(allowed_nixpkgs=("git+file://%s/approved-nixpkgs*" % flakes["good"].parent,), **kw)


@pytest.mark.host_tools
def test_conforming_flake_passes(flakes):
    assert fp.check(load(flakes["good"]), policy(flakes, max_age_days=30)) == []


@pytest.mark.host_tools
def test_every_violation_is_named_with_its_input_path(flakes):
    found = fp.check(load(flakes["bad"]), policy(flakes))
    root = flakes["good"].parent
    # the top-level nixpkgs first, then the graph breadth first
    assert [(v.rule, v.input) for v in found] == [
        ("nixpkgs", "nixpkgs"),
        ("path", "tools"),
        ("follows", "library/nixpkgs"),
    ]
    assert (
        found[0].message == "nixpkgs comes from git+file://%s/rogue-nixpkgs, which is not an allowed source "
        "(git+file://%s/approved-nixpkgs*)" % (root, root)
    )
    assert (
        found[2].message == "library/nixpkgs does not follow the top-level nixpkgs: it locks its own "
        "(git+file://%s/approved-nixpkgs); add inputs.library.inputs.nixpkgs.follows = "
        '"nixpkgs"' % root
    )
    assert found[1].message.startswith("tools is a path input (path:%s/approved-nixpkgs)" % root)


@pytest.mark.host_tools
def test_rules_can_be_switched_off(flakes):
    relaxed = fp.Policy(require_follows=False, forbid_path_inputs=False)
    assert fp.check(load(flakes["bad"]), relaxed) == []


@pytest.mark.host_tools
def test_age(flakes):
    later = time.time() + 40 * 86400
    found = fp.check(load(flakes["good"]), policy(flakes, max_age_days=30), now=later)
    assert sorted(v.input for v in found) == ["library", "nixpkgs"]
    assert all(v.rule == "age" and "was locked 40 days ago" in v.message for v in found)


def node(kind, **fields):
    spec = dict(type=kind, **fields)
    return {"locked": dict(spec, rev="0" * 40, lastModified=1), "original": spec}


def test_github_patterns_and_follows_elsewhere():
    lock = {
        "version": 7,
        "root": "root",
        "nodes": {
            "root": {"inputs": {"nixpkgs": "nixpkgs", "hm": "hm", "unstable": "unstable"}},
            "nixpkgs": node("github", owner="NixOS", repo="nixpkgs", ref="nixos-24.05"),
            "unstable": node("github", owner="nixos", repo="nixpkgs", ref="nixos-unstable"),
            "hm": dict(node("github", owner="nix-community", repo="home-manager"), inputs={"nixpkgs": ["unstable"]}),
        },
    }
    allowed = fp.Policy(allowed_nixpkgs=("github:nixos/nixpkgs/nixos-24.*",))
    found = fp.check(lock, allowed)
    assert [(v.rule, v.input) for v in found] == [("follows", "hm/nixpkgs")]
    assert "it follows unstable" in found[0].message
    assert fp.check(lock, fp.Policy(allowed_nixpkgs=("github:acme/*",)))[0].message.startswith(
        "nixpkgs comes from github:NixOS/nixpkgs/nixos-24.05, which is not an allowed source"
    )


def test_not_a_lock_file():
    with pytest.raises(fp.LockError):
        fp.check({"version": 7}, fp.Policy())
