"""The evaluation cache (plugin_utils/_build/evaluation_cache) and the build that uses it: what identifies a
flake's evaluation, what is never cached, and that a remembered evaluation spares the ``nix eval``
but never a build that is needed."""

import json
import os

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_argv import NixSettings
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build import evaluation_cache as ec
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.system_build import SystemBuilder

from fake_nix import FLAKE, FakeNix, drv, out, targets

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NIXFLEET_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "evaluations"


@pytest.mark.parametrize(
    "ref",
    [
        "git+file:///srv/fleet?rev=" + COMMIT,
        "path:/nix/store/0c5zwa8p2nzjnl7g1ndmmmbdbidbcyjh-source?narHash=sha256-AAAA",
        "path:/nix/store/0c5zwa8p2nzjnl7g1ndmmmbdbidbcyjh-source/hosts",
        "github:example/infra/" + COMMIT,
        "git+https://git.example.org/infra?ref=main&rev=" + COMMIT,
        "tarball+https://example.org/infra.tar.gz?narHash=sha256-AAAA",
    ],
)
def test_refs_that_name_fixed_content_are_locked(ref):
    assert ec.is_locked(ref)


@pytest.mark.parametrize(
    "ref",
    [
        "github:example/infra",
        "github:example/infra/main",
        "git+https://git.example.org/infra?ref=main",
        "path:/srv/fleet",
        "git+file:///srv/fleet",
        "path:/nix/store/../../srv/fleet",
        "flake:nixpkgs",
    ],
)
def test_refs_that_can_change_are_not_locked(ref):
    assert not ec.is_locked(ref)


def test_an_unlocked_remote_ref_and_input_changing_arguments_are_never_cached():
    assert ec.entry_key("github:example/infra", NixSettings()) is None
    for args in (("--impure",), ("--override-input", "nixpkgs", "path:/srv/nixpkgs"), ("--recreate-lock-file",)):
        assert ec.entry_key(FLAKE, NixSettings(extra_args=args)) is None
    assert ec.entry_key(FLAKE, NixSettings(nix="no-such-nix-binary")) is None  # no Nix to identify


@pytest.mark.host_tools
def test_the_key_follows_the_flake_the_nix_its_settings_and_arguments():
    key = ec.entry_key(FLAKE, NixSettings())
    assert key and key == ec.entry_key(FLAKE, NixSettings())
    others = {
        ec.entry_key(FLAKE.replace("0123", "4567"), NixSettings()),
        ec.entry_key(FLAKE, NixSettings(extra_args=("--option", "system", "aarch64-linux"))),
        ec.entry_key(FLAKE, NixSettings(), env={"NIX_CONFIG": "system = aarch64-linux"}),
    }
    assert key not in others and len(others) == 3


@pytest.mark.host_tools
def test_a_local_flake_is_keyed_by_its_content(tmp_path):
    flake = tmp_path / "flake"
    flake.mkdir()
    (flake / "flake.nix").write_text("{ outputs = _: { }; }\n")
    ref = "path:%s" % flake
    first = ec.entry_key(ref, NixSettings())
    assert first and first == ec.entry_key(ref, NixSettings())
    (flake / "host.nix").write_text("{ }\n")  # a new file
    second = ec.entry_key(ref, NixSettings())
    (flake / "flake.nix").write_text("{ outputs = _: { x = 1; }; }\n")  # an edit
    third = ec.entry_key(ref, NixSettings())
    assert len({first, second, third}) == 3


def test_entries_round_trip_and_bad_ones_are_dropped(cache_dir):
    ec.store("k1", {"a": {"drvPath": drv("web"), "path": out("web")}})
    ec.store("k1", {"b": {"drvPath": drv("db"), "path": out("db")}, "c": {"drvPath": "/etc/passwd", "path": "x"}})
    assert ec.load("k1") == {
        "a": {"drvPath": drv("web"), "path": out("web")},
        "b": {"drvPath": drv("db"), "path": out("db")},
    }
    (cache_dir / "k2.json").write_text("{not json")
    (cache_dir / "k3.json").write_text(json.dumps(["a list"]))
    assert ec.load("k2") == {} and ec.load("k3") == {} and ec.load("absent") == {}


def test_only_the_newest_files_are_kept(cache_dir):
    for i in range(ec.KEEP_FILES + 5):
        ec.store("key%03d" % i, {"a": {"drvPath": drv("web"), "path": out("web")}})
        os.utime(str(cache_dir / ("key%03d.json" % i)), ns=(i * 10**9, i * 10**9))
    ec.store("last", {"a": {"drvPath": drv("web"), "path": out("web")}})
    kept = sorted(p.name for p in cache_dir.glob("*.json"))
    assert len(kept) == ec.KEEP_FILES and "last.json" in kept and "key000.json" not in kept


def test_an_unwritable_cache_is_only_a_cache(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("NIXFLEET_CACHE_DIR", str(tmp_path / "file"))  # not a directory
    ec.store("k", {"a": {"drvPath": drv("web"), "path": out("web")}})
    assert ec.load("k") == {}


@pytest.mark.host_tools
def test_a_redeploy_of_an_unchanged_flake_evaluates_nothing():
    nix = FakeNix()
    hosts = targets("web", "db")
    first = SystemBuilder(nix, eval_cache=True).build(hosts)
    assert nix.calls == ["eval", "path-info", "build", "path-info"] and first.cached == []
    nix.calls.clear()
    again = SystemBuilder(nix, eval_cache=True).build(hosts)
    assert nix.calls == ["path-info"] and again.cached == ["db", "web"]
    assert again.paths == first.paths and again.drv_paths == first.drv_paths and again.failed == {}
    nix.calls.clear()
    SystemBuilder(nix, eval_cache=False).build(hosts)  # off: evaluated as always
    assert nix.calls == ["eval", "path-info"]


@pytest.mark.host_tools
def test_a_remembered_system_that_must_be_built_is_evaluated_again_first():
    nix = FakeNix()
    SystemBuilder(nix, eval_cache=True).build(targets("web", "db"))
    nix.built.remove("db")  # collected from the store since
    nix.calls.clear()
    report = SystemBuilder(nix, eval_cache=True).build(targets("web", "db"))
    # db's derivation may be gone with it: evaluated (alone) before its build, web still from the cache
    assert nix.calls == ["path-info", "eval", "build", "path-info"] and nix.build_asked[-1] == [drv("db")]
    assert report.cached == ["web"] and sorted(report.paths) == ["db", "web"] and report.failed == {}


@pytest.mark.host_tools
def test_hosts_that_do_not_evaluate_are_not_remembered():
    nix = FakeNix(broken={"db": "attribute 'db' missing"})
    SystemBuilder(nix, eval_cache=True).build(targets("web", "db"))
    nix.calls.clear()
    report = SystemBuilder(nix, eval_cache=True).build(targets("web", "db"))
    assert report.cached == ["web"] and "eval db" in nix.calls and "attribute 'db' missing" in report.failed["db"]


def test_both_caches_live_in_nixfleet_cache_dir_else_under_xdg(tmp_path, monkeypatch):
    from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix import nix_version_cache

    monkeypatch.setenv("NIXFLEET_CACHE_DIR", str(tmp_path / "own"))
    assert ec.cache_dir() == str(tmp_path / "own" / "evaluations")
    assert nix_version_cache.cache_file() == str(tmp_path / "own" / "nix-version.json")
    monkeypatch.delenv("NIXFLEET_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert ec.cache_dir() == str(tmp_path / "xdg" / "nixfleet" / "evaluations")
