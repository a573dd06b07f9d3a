"""``SystemBuilder``: one ``nix eval`` and one ``nix build`` of the derivations when it works, and when
it fails, who is to blame — against a fake Nix that answers each call as the real CLI does (its
messages from Nix's own output, its results in an order of its own, as ``nix build`` sorts them; the
real CLI runs in the fleet tests)."""
import re
from typing import Dict, List, Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils.nix_argv import NixSettings
from ansible_collections.nixfleet.nixos.plugins.plugin_utils.system_build import SystemBuilder, SystemTarget

FLAKE = "git+file:///srv/fleet?rev=0123456789abcdef0123456789abcdef01234567"


def drv(host):
    return "/nix/store/%s-nixos-system-%s.drv" % (host[0] * 32, host)


def out(host):
    return "/nix/store/%s-nixos-system-%s" % (host[1] * 32, host)


class FakeNix:
    """``broken``: hosts that do not evaluate (Nix's message); ``failing``: hosts whose build fails."""

    def __init__(self, broken: Dict[str, str] = None, failing: List[str] = ()) -> None:
        self.settings = NixSettings()
        self.broken, self.failing = broken or {}, list(failing)
        self.built: List[str] = []
        self.calls: List[str] = []
        self.build_asked: List[List[str]] = []

    @staticmethod
    def host_of(installable: str) -> str:
        return re.search(r'nixosConfigurations\."([^"]+)"', installable).group(1)

    def build_derivations(self, drvs):
        self.calls.append("build")
        self.build_asked.append(list(drvs))
        hosts = [self.host_of_drv(d) for d in drvs]
        self.built += [h for h in hosts if h not in self.failing]
        failed = [h for h in hosts if h in self.failing]
        if failed:
            raise NixError("nix build failed", rc=1, stderr="".join(
                "error: builder for '%s' failed with exit code 2;\n       last 1 log lines:\n       > cc: bad code\n"
                % drv(h) for h in failed))
        # not in the order asked: nix build sorts its results
        return {drv(h): out(h) for h in sorted(hosts, reverse=True)}

    @staticmethod
    def host_of_drv(path):
        return re.search(r"nixos-system-(.+)\.drv$", path).group(1)

    def eval_expr_json(self, expr, what="nix eval"):
        self.calls.append("eval")
        return {h: None if h in self.broken else {"drvPath": drv(h), "path": out(h)} for h in self.hosts(expr)}

    @staticmethod
    def hosts(expr):
        """The hosts of the one expression that evaluates them all (``"web" = t f0.…;``)."""
        return re.findall(r'"([^"]+)" = t f\d+\.', expr)

    def eval_json(self, installable, apply=None):
        host = self.host_of(installable)
        self.calls.append("eval " + host)
        if host in self.broken:
            raise NixError("nix eval failed", rc=1, stderr="error: %s\n" % self.broken[host])
        return {"drvPath": drv(host), "path": out(host)}

    def path_info(self, paths, closure_size=False, **_kwargs) -> Dict[str, Optional[dict]]:
        self.calls.append("path-info")
        valid = {out(h) for h in self.built}
        return {p: ({"closureSize": 1000} if p in valid else None) for p in paths}


def targets(*hosts):
    return [SystemTarget(host=h, flake=FLAKE, attr='nixosConfigurations."%s".config.system.build.toplevel' % h)
            for h in hosts]


def test_the_happy_path_is_one_eval_one_build_and_one_path_info():
    nix = FakeNix()
    report = SystemBuilder(nix).build(targets("web", "db", "api"))
    # each host gets its own system, whatever order nix build answers in
    assert report.paths == {"web": out("web"), "db": out("db"), "api": out("api")} and report.failed == {}
    assert report.drv_paths == {"web": drv("web"), "db": drv("db"), "api": drv("api")}
    assert report.closure_sizes == {"web": 1000, "db": 1000, "api": 1000}
    assert nix.calls == ["eval", "path-info", "build", "path-info"]


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
    assert report.failed == {"db": "%s#%s does not evaluate: error: undefined variable 'pgsql' at /srv/fleet/db.nix:3:5"
                             % (FLAKE, targets("db")[0].attr)}
    assert report.paths == {"web": out("web")} and nix.built == ["web"]
    # One eval of all, one eval of the culprit alone (for its own message), one build of the rest.
    assert nix.calls == ["eval", "eval db", "path-info", "build", "path-info"]
    assert report.nix_calls == ["eval", "eval db", "path-info", "build", "path-info"]


def test_a_host_whose_build_fails_gets_its_own_error_block_and_the_rest_keep_their_paths():
    nix = FakeNix(failing=["db"])
    report = SystemBuilder(nix).build(targets("web", "db"))
    assert set(report.failed) == {"db"}
    assert report.failed["db"].startswith("%s#%s failed to build: error: builder for '%s' failed with exit code 2"
                                          % (FLAKE, targets("db")[0].attr, drv("db")))
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
    assert nix.calls == ["eval", "eval api", "path-info", "build", "path-info"]


def test_check_mode_evaluates_and_builds_nothing():
    nix = FakeNix(broken={"db": "infinite recursion encountered"})
    report = SystemBuilder(nix).check(targets("web", "db"))
    assert report.paths == {"web": out("web")} and "infinite recursion" in report.failed["db"]
    assert "build" not in nix.calls and nix.built == []
