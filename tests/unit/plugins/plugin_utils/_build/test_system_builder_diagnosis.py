"""``SystemBuilder``: one ``nix eval`` and one ``nix build`` of the derivations when it works, and when
it fails, who is to blame — against a fake Nix that answers each call as the real CLI does (its
messages from Nix's own output, its results in an order of its own, as ``nix build`` sorts them; the
real CLI runs in the fleet tests)."""

from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.system_build import SystemBuilder

from fake_nix import FLAKE, FakeNix, drv, out, targets


def test_the_happy_path_is_two_evals_one_build_and_one_path_info():
    nix = FakeNix()
    report = SystemBuilder(nix).build(targets("web", "db", "api"))
    # each host gets its own system, whatever order nix build answers in
    assert report.paths == {"web": out("web"), "db": out("db"), "api": out("api")} and report.failed == {}
    assert report.drv_paths == {"web": drv("web"), "db": drv("db"), "api": drv("api")}
    assert report.closure_sizes == {"web": 1000, "db": 1000, "api": 1000}
    # the first two hosts alone (measured: 1400 MiB a host assumed in 3 GiB), then the third
    assert nix.calls == ["eval", "eval", "path-info", "build", "path-info"]


def test_systems_already_built_are_not_built_again():
    nix = FakeNix()
    nix.built = ["web"]
    report = SystemBuilder(nix).build(targets("web", "db"))
    assert report.paths == {"web": out("web"), "db": out("db")}
    assert nix.calls == ["eval", "path-info", "build", "path-info"] and nix.build_asked == [[drv("db")]]
    again = FakeNix()
    again.built = ["web", "db"]
    SystemBuilder(again).build(targets("web", "db"))
    assert again.calls == ["eval", "path-info"]  # a redeploy with nothing new: nix twice


def test_a_host_that_does_not_evaluate_is_named_and_the_others_are_built():
    nix = FakeNix(broken={"db": "undefined variable 'pgsql' at /srv/fleet/db.nix:3:5"})
    report = SystemBuilder(nix).build(targets("web", "db"))
    assert report.failed == {
        "db": "%s#%s does not evaluate: error: undefined variable 'pgsql' at /srv/fleet/db.nix:3:5"
        % (FLAKE, targets("db")[0].attr)
    }
    assert report.paths == {"web": out("web")} and nix.built == ["web"]
    # One eval of all, one eval of the culprit alone (for its own message), one build of the rest.
    assert nix.calls == ["eval", "eval db", "path-info", "build", "path-info"]
    assert report.nix_calls == ["eval", "eval db", "path-info", "build", "path-info"]


def test_a_host_whose_build_fails_gets_its_own_error_block_and_the_rest_keep_their_paths():
    nix = FakeNix(failing=["db"])
    report = SystemBuilder(nix).build(targets("web", "db"))
    assert set(report.failed) == {"db"}
    assert report.failed["db"].startswith(
        "%s#%s failed to build: error: builder for '%s' failed with exit code 2"
        % (FLAKE, targets("db")[0].attr, drv("db"))
    )
    assert "cc: bad code" in report.failed["db"]
    assert report.paths == {"web": out("web")} and report.drv_paths == {"web": drv("web"), "db": drv("db")}
    assert nix.calls == ["eval", "path-info", "build", "path-info"]  # what exists; what the build made


def test_an_evaluation_error_and_a_build_failure_at_once():
    nix = FakeNix(broken={"api": "attribute 'port' missing"}, failing=["db"])
    report = SystemBuilder(nix).build(targets("web", "db", "api"))
    assert set(report.failed) == {"db", "api"}
    assert "does not evaluate: error: attribute 'port' missing" in report.failed["api"]
    assert "failed to build: error: builder for '%s'" % drv("db") in report.failed["db"]
    assert report.paths == {"web": out("web")}
    assert nix.calls == ["eval", "eval", "eval api", "path-info", "build", "path-info"]  # web+db, then api


def test_check_mode_evaluates_and_builds_nothing():
    nix = FakeNix(broken={"db": "infinite recursion encountered"})
    report = SystemBuilder(nix).check(targets("web", "db"))
    assert report.paths == {"web": out("web")} and "infinite recursion" in report.failed["db"]
    assert "build" not in nix.calls and nix.built == []
