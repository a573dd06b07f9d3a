"""plugins/action/package_gate.py: denied package versions in the systems' closures, read by the real
Nix from this machine's store (small derivations built here), before anything is copied."""

import datetime
import json
import subprocess

import pytest

from action_harness import run_action

pytestmark = pytest.mark.host_tools

EXPR = """let
  tool = name: deps: derivation {
    inherit name; system = "x86_64-linux"; builder = "/bin/sh";
    args = [ "-c" "/bin/mkdir -p $out && echo ${toString deps} > $out/refs" ];
  };
  xz = tool "xz-5.6.0" [ ];
  zlib = tool "zlib-1.3" [ ];
in {
  web = tool "nixos-system-web" [ xz zlib ];
  db = tool "nixos-system-db" [ zlib ];
  unbuilt = tool "nixos-system-api" [ xz ];
}"""


def nix(*words):
    return subprocess.run(["nix"] + list(words), check=True, stdout=subprocess.PIPE).stdout.decode()


@pytest.fixture(scope="module")
def systems():
    """Out paths of web (with xz 5.6.0) and db (without), built; the derivation of an unbuilt system
    with xz 5.6.0 (instantiated, never built: its out path is not in the store)."""
    expr = EXPR
    built = json.loads(nix("build", "--no-link", "--json", "--impure", "--expr", "with (%s); [ web db ]" % expr))
    outs = [entry["outputs"]["out"] for entry in built]  # in Nix's order, not the one asked
    web, db = (next(o for o in outs if o.endswith("-nixos-system-%s" % name)) for name in ("web", "db"))
    unbuilt_drv = nix("eval", "--raw", "--impure", "--expr", "(%s).unbuilt.drvPath" % expr)
    unbuilt_out = nix("eval", "--raw", "--impure", "--expr", "(%s).unbuilt.outPath" % expr)
    return {"web": web, "db": db, "api_drv": unbuilt_drv, "api": unbuilt_out}


def test_a_denied_version_in_the_closure_refuses_that_host_only(systems):
    result = run_action(
        "package_gate",
        {"paths": {"web": systems["web"], "db": systems["db"]}, "deny_packages": ["xz >=5.6.0, <=5.6.1"]},
    )
    assert not result.get("failed"), result
    assert sorted(result["failed_hosts"]) == ["web"] and sorted(result["refused"]) == ["web"]
    assert result["checked"] == {"web": "closure", "db": "closure"}
    finding = result["refused"]["web"][0]
    assert finding["name"] == "xz" and finding["version"] == "5.6.0"
    assert result["failed_hosts"]["web"].startswith("web: refused before anything was copied: xz 5.6.0 is denied")
    assert result["msg"] == "1 of 2 systems pass the gate (1 rules, 0 exceptions); refused: web"


def test_an_exception_lets_it_pass_with_a_warning_until_it_expires(systems):
    tomorrow = (datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=1)).isoformat()
    result = run_action(
        "package_gate",
        {
            "paths": {"web": systems["web"]},
            "deny_packages": ["xz==5.6.0"],
            "allow_packages": [
                {"name": "xz", "version": "==5.6.0", "expires": tomorrow, "reason": "lab", "hosts": ["web"]}
            ],
        },
    )
    assert result["failed_hosts"] == {} and list(result["allowed"]) == ["web"]
    assert len(result["warnings"]) == 1 and result["warnings"][0].startswith("web: xz 5.6.0 is denied")
    expired = run_action(
        "package_gate",
        {
            "paths": {"web": systems["web"]},
            "deny_packages": ["xz==5.6.0"],
            "allow_packages": [{"name": "xz", "version": "==5.6.0", "expires": "2020-01-01", "reason": "lab"}],
        },
    )
    assert list(expired["failed_hosts"]) == ["web"] and "the exception for" in expired["failed_hosts"]["web"]
    assert "expired" in expired["failed_hosts"]["web"]


def test_a_system_not_in_the_store_is_checked_by_its_build_inputs(systems):
    result = run_action(
        "package_gate",
        {"paths": {"api": systems["api"]}, "drv_paths": {"api": systems["api_drv"]}, "deny_packages": ["xz<6"]},
    )
    assert result["checked"] == {"api": "build inputs"}
    assert "(in its build inputs: the controller's store has no %s)" % systems["api"] in result["failed_hosts"]["api"]


def test_a_system_not_in_the_store_without_a_derivation_is_refused(systems):
    result = run_action("package_gate", {"paths": {"api": systems["api"]}, "deny_packages": ["xz<6"]})
    assert result["failed_hosts"] == {
        "api": "api: the gate cannot read %s (not in the controller's store, and no "
        "derivation): refused, nothing was copied" % systems["api"]
    }


def test_a_deny_file_on_the_controller(systems, tmp_path):
    rules = tmp_path / "deny.json"
    rules.write_text(json.dumps({"deny": ["zlib<=1.3"]}))
    result = run_action(
        "package_gate", {"paths": {"web": systems["web"], "db": systems["db"]}, "deny_packages": str(rules)}
    )
    assert sorted(result["failed_hosts"]) == ["db", "web"]
    rules.write_text("{not json")
    broken = run_action("package_gate", {"paths": {"web": systems["web"]}, "deny_packages": str(rules)})
    assert broken["failed"] is True and "deny_packages %s is not JSON" % rules in broken["msg"]


@pytest.mark.parametrize(
    "args, message",
    [
        ({"paths": {"web": "/etc/passwd"}}, "paths[web]"),
        ({"paths": {}, "deny_packages": ["xz"], "store": "ftp://x"}, "store"),
        ({"paths": {}, "deny_packages": "/nonexistent/deny.json"}, "deny_packages"),
    ],
)
def test_bad_input_fails_before_nix_runs(args, message):
    def no_nix(options):
        raise AssertionError("Nix was called")

    result = run_action("package_gate", args, nix=no_nix)
    assert result["failed"] is True and message in result["msg"]
