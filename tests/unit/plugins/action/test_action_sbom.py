"""plugins/action/sbom.py: a CycloneDX SBOM of a system's closure, read by the real ``nix path-info``
from this machine's store (a small system with two dependencies built here), written on the
controller once; the running system when no path is given."""

import json
import subprocess

import pytest

from action_harness import ActionShell, run_action, said

pytestmark = pytest.mark.host_tools
EXPR = """let
  pkg = name: deps: derivation {
    inherit name; system = "x86_64-linux"; builder = "/bin/sh";
    args = [ "-c" "/bin/mkdir -p $out && echo ${toString deps} > $out/refs" ];
  };
  zlib = pkg "zlib-1.3.1" [ ];
  curl = pkg "curl-8.9.0" [ zlib ];
in pkg "nixos-system-sbom-web-24.05" [ curl ]"""


@pytest.fixture(scope="module")
def system():
    built = subprocess.run(
        ["nix", "build", "--no-link", "--json", "--impure", "--expr", EXPR],
        check=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    ).stdout
    return json.loads(built)[0]["outputs"]["out"]


def test_written_once_with_every_component(system, tmp_path):
    dest = tmp_path / "sbom" / "web.cdx.json"
    result = run_action(
        "sbom", {"path": system, "dest": str(dest), "flake": "git+file:///srv/fleet?rev=%s" % ("c" * 40)}
    )
    assert not result.get("failed"), result
    assert result["changed"] is True and result["read_from"] == "controller" and result["components"] == 3
    bom = json.loads(dest.read_text())
    assert bom["bomFormat"] == "CycloneDX" and bom["metadata"]["component"]["bom-ref"] == system
    names = sorted((c["name"], c["version"]) for c in bom["components"])
    assert names == [("curl", "8.9.0"), ("zlib", "1.3.1")]
    deps = {
        d["ref"].rsplit("-", 2)[-2]: [r.rsplit("-", 2)[-2] for r in d.get("dependsOn", [])] for d in bom["dependencies"]
    }
    assert deps["web"] == ["curl"] and deps["curl"] == ["zlib"]
    again = run_action(
        "sbom", {"path": system, "dest": str(dest), "flake": "git+file:///srv/fleet?rev=%s" % ("c" * 40)}
    )
    assert again["changed"] is False


def test_check_mode_writes_nothing(system, tmp_path):
    result = run_action("sbom", {"path": system, "dest": str(tmp_path / "x.json")}, check_mode=True)
    assert result["changed"] is True and not (tmp_path / "x.json").exists()


def test_the_running_system_by_default(system, tmp_path):
    probe = said(stdout="profile\t\nrunning\t%s\nbooted\t\nsystemd\tyes\n" % system)
    shell = ActionShell({"probe": probe})
    result = run_action("sbom", {"dest": str(tmp_path / "web.json")}, shell)
    assert not result.get("failed"), result
    assert result["path"] == system and shell.performed == [("probe", False)]


def test_nothing_running_is_an_error_naming_the_host(tmp_path):
    shell = ActionShell({"probe": said(stdout="profile\t\nrunning\t\nbooted\t\n")})
    result = run_action("sbom", {"dest": str(tmp_path / "web.json")}, shell)
    assert result["failed"] is True
    assert "no system runs on the host (no /run/current-system); give path" in result["msg"] and "web" in result["msg"]
    assert not (tmp_path / "web.json").exists()


def test_a_path_outside_the_store_is_refused(tmp_path):
    result = run_action("sbom", {"path": "/etc/nixos", "dest": str(tmp_path / "web.json")})
    assert result["failed"] is True and "path" in result["msg"] and "web" in result["msg"]
