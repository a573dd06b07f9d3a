"""The deploy gate (nixos_deploy_deny_packages, module package_gate) on the fleet: a host whose new
system holds a denied openssl fails before a single store path reaches it, naming the version and the
chain; the others deploy; an exception with a date and a reason lets one host through and the report
shows it; an expired one does not; --check reports the refusal from the derivations alone; a JSON
rules file works like the list. node02 has no Python."""

import datetime
import json
import subprocess

import pytest

from fleetctl import FixtureFlake, host_path_info, inside, nix_env
from fleet_fixtures import own_fleet
from playbook_helpers import run_playbook, write_fleet_inventory

pytestmark = pytest.mark.integration

CURL = {"version": "8.5.0", "uses": ["openssl"]}
DENY = ["openssl<3.0.14"]
TOMORROW = (datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=1)).isoformat()
YESTERDAY = (datetime.datetime.now(datetime.timezone.utc).date() - datetime.timedelta(days=1)).isoformat()


fleet = own_fleet("gate", 3, ["node02"], "127.0.91.11")


@pytest.fixture(scope="module")
def setup(fleet, tmp_path_factory):
    flake = FixtureFlake.create(tmp_path_factory.mktemp("gate-flake") / "flake", fleet, {"node01": "colmena"})
    flake.set_host("node01", libs={"openssl": "3.0.13", "curl": CURL}, apps=["curl"])
    flake.set_host("node02", libs={"openssl": "3.0.14", "curl": CURL}, apps=["curl"])
    flake.set_host("node03", libs={"openssl": "3.0.13"})
    return flake, write_fleet_inventory(tmp_path_factory.mktemp("gate-inventory"), fleet, flake)


def deploy(inventory, *args, **extra):
    return run_playbook(inventory, "deploy.yml", *args, extra_vars=dict({"nixos_deploy_confirm_timeout": 5}, **extra))


def built(flake, host):
    """The new system of ``host`` and its closure, from the controller's store (the deploy built it)."""
    path = json.loads(controller(["nix", "build", "--no-link", "--json", flake.toplevel(host)]))[0]["outputs"]["out"]
    return path, controller(["nix-store", "-q", "--requisites", path]).split()


def controller(argv):
    return subprocess.run(argv, stdout=subprocess.PIPE, universal_newlines=True, env=nix_env(), check=True).stdout


def refused(run):
    """{host: message} of the hosts the build play failed."""
    return {h: r["msg"] for h, r in run.results("pass the gate").items() if r.get("failed")}


def test_a_denied_version_refuses_its_host_before_anything_is_copied(fleet, setup, tmp_path):
    flake, inventory = setup
    allow = [
        {
            "name": "openssl",
            "version": "==3.0.13",
            "hosts": ["node03"],
            "expires": TOMORROW,
            "reason": "appliance, no TLS listener",
        }
    ]
    run = deploy(
        inventory,
        nixos_deploy_deny_packages=DENY,
        nixos_deploy_allow_packages=allow,
        nixos_deploy_report_dir=str(tmp_path),
    )
    assert run.rc != 0
    gate = run.results("Check every new system against the denied packages")["node01"]
    said = refused(run)
    assert sorted(said) == ["node01"]
    _system, closure = built(flake, "node01")
    openssl = [p for p in closure if p.endswith("-openssl-3.0.13")][0]
    assert said["node01"].startswith(
        "node01: refused before anything was copied: openssl 3.0.13 is denied by openssl <3.0.14; pulled in by "
        "nixos-system-node01-1 → fleet-apps-node01 → curl-8.5.0 → openssl-3.0.13"
    )
    assert gate["refused"]["node01"][0]["path"] == openssl and gate["checked"]["node01"] == "closure"
    # not one store path of its new system (the shared base, the kernel included) reached node01
    assert [p for p in closure if host_path_info(fleet["node01"], p) is not None] == []
    assert inside(fleet["node01"], "readlink /run/current-system || true").strip() == ""
    assert run.results("Copy and switch to the system").get("node01") is None
    # the others went on: node02 has no denied version, node03's is an exception until tomorrow
    assert run.stats("node02")["failures"] == 0 and run.stats("node03")["failures"] == 0
    for name in ("node02", "node03"):
        assert inside(fleet[name], "readlink /run/current-system").strip() == built(flake, name)[0]
    assert gate["allowed"]["node03"][0]["allowed"] == {
        "rule": "openssl ==3.0.13",
        "expires": TOMORROW,
        "reason": "appliance, no TLS listener",
    }
    assert any("node03: openssl 3.0.13 is denied" in w and "allowed by exception" in w for w in gate["warnings"])
    summary = "\n".join(run.results("Show the deploy summary")["localhost"]["msg"])
    assert "Allowed by exception (the deploy gate):" in summary
    assert (
        "node03: openssl 3.0.13 (denied by openssl <3.0.14) allowed until %s: appliance, no TLS listener" % TOMORROW
    ) in summary
    report = {row["host"]: row for row in json.loads((tmp_path / "deploy-report.json").read_text())}
    assert report["node01"]["result"] == "failed" and "openssl 3.0.13 is denied" in report["node01"]["message"]
    assert report["node03"]["exceptions"] and report["node02"]["exceptions"] == []


def test_check_mode_reports_a_refusal_from_the_derivations(fleet, setup):
    flake, inventory = setup
    flake.set_host("node02", version="2", libs={"openssl": "3.0.11", "curl": CURL})  # evaluated, never built
    try:
        run = deploy(inventory, "--check", nixos_deploy_deny_packages=DENY, limit="node02")
        assert run.rc != 0
        msg = refused(run)["node02"]
        assert msg.startswith(
            "node02: refused before anything was copied (in its build inputs: the controller's store has no /nix/store/"
        )
        assert "openssl 3.0.11 is denied by openssl <3.0.14; pulled in by nixos-system-node02-2.drv → " in msg
        assert inside(fleet["node02"], "cat /run/current-system/nixos-version").strip() == "1"
    finally:
        flake.set_host("node02", version="1", libs={"openssl": "3.0.14", "curl": CURL})


def test_an_expired_exception_lets_nothing_through(fleet, setup):
    flake, inventory = setup
    flake.set_host("node03", version="2")
    allow = [{"name": "openssl", "version": "==3.0.13", "hosts": ["node03"], "expires": YESTERDAY, "reason": "old"}]
    run = deploy(inventory, nixos_deploy_deny_packages=DENY, nixos_deploy_allow_packages=allow, limit="node03")
    assert run.rc != 0
    msg = refused(run)["node03"]
    assert "openssl 3.0.13 is denied by openssl <3.0.14" in msg
    assert msg.endswith("; the exception for openssl ==3.0.13 until %s: old expired" % YESTERDAY)
    assert inside(fleet["node03"], "cat /run/current-system/nixos-version").strip() == "1"


def test_rules_from_a_json_file_and_a_bad_rule_stops_every_host(fleet, setup, tmp_path):
    flake, inventory = setup
    rules = tmp_path / "deny.json"
    rules.write_text(
        json.dumps(
            {
                "deny": [
                    {
                        "name": "curl",
                        "version": "<8.6",
                        "id": "CVE-2024-2398",
                        "reason": "HTTP/2 push headers memory leak",
                    }
                ]
            }
        )
    )
    run = deploy(inventory, "--check", nixos_deploy_deny_packages=str(rules))
    assert run.rc != 0
    failed = refused(run)
    assert sorted(failed) == ["node01", "node02"]  # node03 has no curl
    assert (
        "curl 8.5.0 is denied by curl <8.6 (CVE-2024-2398, HTTP/2 push headers memory leak); pulled in by "
        "nixos-system-node02-1 → fleet-apps-node02 → curl-8.5.0" in failed["node02"]
    )
    bad = deploy(inventory, "--check", nixos_deploy_deny_packages=["openssl 3.0.13"])
    assert bad.rc != 0
    gate = bad.results("Check every new system against the denied packages")
    assert "deny_packages[0] 'openssl 3.0.13': after the name, a version constraint" in gate["node01"]["msg"]
    assert bad.results("Copy and switch to the system") == {}
