"""Integration fixtures: one local fleet per test session, a fixture flake that matches it."""

import os
from typing import List

import pytest

from fleetctl import NIX_CONFIG, FixtureFlake, running_fleet
from real_nix import real_nix, real_nix_reason

# Every nix the tests (and the ansible they start) run stays offline.
os.environ["NIX_CONFIG"] = NIX_CONFIG

SESSION_HOSTS = 4
SESSION_FIRST_ADDRESS = "127.0.10.11"
SHAPES = {"node01": "colmena", "node02": "deploy-rs", "node03": "plain", "node04": "colmena"}
TAGS = {"node01": ["web", "canary"], "node04": ["web"]}


@pytest.fixture(scope="session", autouse=True)
def session_evaluation_cache(tmp_path_factory):
    """Session and module fixtures do not read the machine's own cache (~/.cache/nixfleet) either."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NIXFLEET_CACHE_DIR", str(tmp_path_factory.mktemp("nixfleet-session-cache")))
        yield


@pytest.fixture(autouse=True)
def own_evaluation_cache(tmp_path_factory, monkeypatch):
    """Each test starts with an empty evaluation cache (the build's eval_cache), so what it evaluates
    does not depend on which tests ran before it; runs within one test share it."""
    monkeypatch.setenv("NIXFLEET_CACHE_DIR", str(tmp_path_factory.mktemp("nixfleet-cache")))


@pytest.fixture(scope="session")
def session_fleet(tmp_path_factory):
    """The fleet the session shares: node01..node04 on 127.0.10.11-14; node04 has no Python. (A module
    with a fleet of its own names it ``fleet``: tests/integration/fleet_fixtures.py.)"""
    state = tmp_path_factory.mktemp("fleet") / "state"
    with running_fleet(state, SESSION_HOSTS, ["node04"], SESSION_FIRST_ADDRESS) as running:
        yield running


@pytest.fixture(scope="session")
def session_flake(session_fleet, tmp_path_factory):
    return FixtureFlake.create(tmp_path_factory.mktemp("flake") / "flake", session_fleet, SHAPES, TAGS)


def pytest_collection_modifyitems(config, items):
    """The tests of a real nixpkgs (``real_nixpkgs``) need a controller Nix 2.18 or newer: the Debian 13
    and unstable legs run them (or any machine with NIXFLEET_REAL_NIX naming such a nix); the
    ``old_nix`` tests prove the clear error of an older one (Debian 12's 2.8). Each machine runs the
    kind that applies to its Nix; the other kind is deselected and said so in the summary."""
    wrong = "old_nix" if real_nix() else "real_nixpkgs"
    kept: List[pytest.Item] = []
    deselected: List[pytest.Item] = []
    for item in items:
        (deselected if item.get_closest_marker(wrong) else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
        config._nixfleet_real_nix = "%d %s tests deselected: %s" % (len(deselected), wrong, real_nix_reason())


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    said = getattr(config, "_nixfleet_real_nix", None)
    if said:
        terminalreporter.write_line(said)
