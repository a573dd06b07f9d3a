"""plugins/action/build.py: the play's hosts' systems evaluated in one pool and built in one nix build
(against tests/helpers/fake_nix.py, which answers as the real CLI does), hosts built on their target or
a build host only evaluated here, hosts that cannot be built named with why while the others build,
check mode builds nothing, and bad settings fail before Nix runs."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes import deploy_manifest as dm

from action_harness import run_action

from fake_nix import FLAKE, FakeNix, drv, out

HOSTS = ["web", "db", "api"]


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NIXFLEET_CACHE_DIR", str(tmp_path / "cache"))


def build(hostvars=None, args=None, check_mode=False, nix=None):
    nix = nix or FakeNix()
    hv = {h: {"nixos_flake": FLAKE} for h in HOSTS}
    for host, extra in (hostvars or {}).items():
        hv.setdefault(host, {}).update(extra)
    result = run_action(
        "build",
        dict({"eval_cache": False}, **(args or {})),
        check_mode=check_mode,
        task_vars={"hostvars": hv, "ansible_play_batch": list(HOSTS)},
        nix=lambda options: nix,
    )
    return result, nix


def test_the_plays_hosts_are_built_in_one_build_and_the_result_has_the_documented_keys():
    result, nix = build()
    assert not result.get("failed"), result
    assert result["paths"] == {h: out(h) for h in HOSTS} and result["drv_paths"] == {h: drv(h) for h in HOSTS}
    assert result["failed_hosts"] == {} and result["closure_sizes"] == {h: 1000 for h in HOSTS}
    assert (result["changed"], result["built"], result["on_target"], result["on_builder"]) == (False, True, [], {})
    assert result["profile_paths"] == {} and result["evaluations_cached"] == []
    assert result["msg"] == "3 of 3 systems built"
    assert nix.calls.count("build") == 1 and sorted(nix.build_asked[0]) == sorted(drv(h) for h in HOSTS)
    assert result["nix_calls"] == nix.calls
    for key in ("nix_peak_rss_mib", "evaluation", "timings"):
        assert key in result


def test_check_mode_evaluates_and_builds_nothing():
    result, nix = build(check_mode=True)
    assert not result.get("failed"), result
    assert "build" not in nix.calls and result["built"] is False
    assert result["paths"] == {h: out(h) for h in HOSTS}
    assert result["msg"] == "3 of 3 systems evaluated (check mode)"


def test_hosts_that_cannot_be_built_are_named_and_the_others_build():
    result, nix = build(
        {
            "web": {"nixos_flake": None},
            "db": {"nixos_eval_error": "undefined variable 'x'", "nixos_attr": 'nixosConfigurations."db"'},
            "api": {"nixos_settings_error": "nixos_deploy_confirm_timeout must be > 0"},
        },
        args={"hosts": HOSTS + ["cache"]},
        nix=FakeNix(),
    )
    assert not result.get("failed"), result
    assert result["failed_hosts"] == {
        "web": "web has no nixos_flake: use the nixfleet.nixos.flake inventory, set nixos_flake, or pass flake=",
        "db": "nixosConfigurations.\"db\" does not evaluate: undefined variable 'x'",
        "api": "api: nixos_deploy_confirm_timeout must be > 0",
        "cache": "cache has no nixos_flake: use the nixfleet.nixos.flake inventory, set nixos_flake, or pass flake=",
    }
    assert result["paths"] == {} and result["msg"] == "0 of 4 systems built"


def test_a_flake_option_serves_hosts_without_nixos_flake():
    result, nix = build({"web": {"nixos_flake": None}}, args={"flake": FLAKE})
    assert result["paths"]["web"] == out("web") and result["failed_hosts"] == {}


def test_a_host_whose_build_fails_is_named_and_the_others_keep_their_systems():
    result, nix = build(nix=FakeNix(failing=["db"]))
    assert set(result["paths"]) == {"web", "api"} and "cc: bad code" in result["failed_hosts"]["db"]
    assert result["msg"] == "2 of 3 systems built"


def test_hosts_built_elsewhere_are_only_evaluated_here():
    result, nix = build(
        {
            "web": {"nixos_deploy_build_on": "target"},
            "db": {"nixos_deploy_build_on": "builder", "nixos_deploy_build_host": "b1"},
        }
    )
    assert not result.get("failed"), result
    assert nix.build_asked == [[drv("api")]]  # only api is built here
    assert result["on_target"] == ["web"] and result["on_builder"] == {"b1": ["db"]}
    assert result["paths"] == {h: out(h) for h in HOSTS}  # each evaluated: its system is known


def test_the_on_target_option_overrides_the_host_variables():
    result, nix = build({"web": {"nixos_deploy_build_on": "target"}}, args={"on_target": ["api"]})
    assert result["on_target"] == ["api"]
    assert sorted(nix.build_asked[0]) == sorted([drv("web"), drv("db")])  # web's variable no longer counts


def test_a_host_built_on_a_builder_that_names_none_fails():
    result, nix = build({"db": {"nixos_deploy_build_on": "builder"}})
    assert result["failed_hosts"] == {
        "db": "db: nixos_deploy_build_on is builder, but nixos_deploy_build_host names no build host"
    }
    assert "db" not in result["paths"] and result["on_builder"] == {}


@pytest.mark.parametrize(
    "args, message",
    [
        ({"eval_workers": -1}, "eval_workers must be 0 (one per core) or more, not -1"),
        ({"eval_memory_budget": 10}, "eval_memory_budget must be at least 64 (MiB), not 10"),
    ],
)
def test_bad_settings_fail_before_nix_runs(args, message):
    result, nix = build(args=args)
    assert result["failed"] is True and message in result["msg"]
    assert nix.calls == []


def test_a_manifest_without_a_cache_is_refused_and_nothing_is_evaluated(tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        dm.Manifest(
            flake=FLAKE, rev=None, cache=None, hosts={"web": dm.Entry("/nix/store/%s-nixos-system-web" % ("a" * 32))}
        ).render()
    )
    result, nix = build(args={"manifest": str(manifest)})
    assert result["failed"] is True
    assert result["msg"] == (
        "manifest %s names no cache and none was given (manifest_cache / nixos_deploy_cache_url); "
        "nothing was deployed" % manifest
    )
    assert nix.calls == []
