"""plugins/action/exposure.py: which of a host's systems hold a package version, from one
unprivileged scan (answered with the real ``nix-store --query --graph`` output recorded in
tests/unit/nix_outputs) or from the host's SBOM on the controller."""

import json

import pytest

from action_harness import ActionShell, run_action, said
from recorded_outputs import RECORDED_OUTPUTS as OUTPUTS

RECORDED = sorted(p.parent.name for p in OUTPUTS.glob("*/graph.txt"))


def scan(version):
    """The scan's answer: generation 1 (``old``, booted, openssl 3.0.14), generation 2 (``new``,
    current and running, openssl 3.0.13), then the recorded graph of both."""
    old, new = (OUTPUTS / version / "graph-roots.txt").read_text().split()
    text = (
        "profile\tsystem-2-link\ngeneration\tsystem-1-link\t%s\t1700000000\t\n"
        "generation\tsystem-2-link\t%s\t1700000100\t\nrunning\t%s\nbooted\t%s\nsystemd\tno\n"
        "exposure\tgraph\n%s" % (old, new, new, old, (OUTPUTS / version / "graph.txt").read_text())
    )
    return old, new, ActionShell(commands={"nix-store": said(stdout=text)})


@pytest.mark.parametrize("version", RECORDED)
def test_the_running_system_is_exposed_the_booted_one_is_not(version):
    old, new, shell = scan(version)
    result = run_action("exposure", {"package": "openssl", "version": "<3.0.14"}, shell)
    assert not result.get("failed"), result
    assert shell.performed == [("nix-store", False)]  # one scan, as the login user
    assert (result["running_exposed"], result["booted_exposed"], result["exposed_generations"]) == (True, False, [2])
    assert [(s["path"], s["versions"], s["exposed"]) for s in result["systems"]] == [
        (new, ["3.0.13"], True),
        (old, ["3.0.14"], False),
    ]
    assert result["msg"] == "web: openssl <3.0.14 in running, generation 2 (current)"
    assert result["changed"] is False and result["source"] == "host"


@pytest.mark.parametrize("version", RECORDED[:1])
def test_a_version_in_no_system(version):
    _old, _new, shell = scan(version)
    result = run_action("exposure", {"package": "openssl<3.0.13"}, shell)
    assert result["exposed"] is False
    assert result["msg"] == "web: openssl <3.0.13 in none of its 2 systems"


def test_a_scan_without_its_graph_is_an_error_naming_the_host():
    shell = ActionShell(commands={"nix-store": said(stdout="profile\t\nrunning\t\n")})
    result = run_action("exposure", {"package": "openssl"}, shell)
    assert result["failed"] is True and "printed no graph" in result["msg"] and "web" in result["msg"]


SYSTEM = "/nix/store/%s-nixos-system-web-2" % ("a" * 32)
OPENSSL = "/nix/store/%s-openssl-3.0.13" % ("b" * 32)


def bom():
    return {
        "bomFormat": "CycloneDX",
        "metadata": {"component": {"bom-ref": SYSTEM}},
        "components": [{"bom-ref": OPENSSL}],
        "dependencies": [{"ref": SYSTEM, "dependsOn": [OPENSSL]}],
    }


def test_from_the_hosts_sbom_without_reaching_the_host(tmp_path):
    (tmp_path / "web.cdx.json").write_text(json.dumps(bom()))
    shell = ActionShell()
    result = run_action("exposure", {"package": "openssl", "version": "<3.0.14", "sbom_dir": str(tmp_path)}, shell)
    assert not result.get("failed"), result
    assert shell.performed == []
    assert result["source"] == "sbom" and result["exposed"] is True
    assert result["systems"][0]["roles"] == ["sbom"] and result["systems"][0]["versions"] == ["3.0.13"]
    assert result["msg"] == "web: openssl <3.0.14 in sbom"


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "reading the SBOM %s/web.cdx.json failed: No such file or directory"),
        ("{not json", "the SBOM %s/web.cdx.json is not JSON"),
        ("[1]", "the SBOM %s/web.cdx.json is not a CycloneDX document"),
        (json.dumps({"components": []}), "the SBOM of web names no system"),
    ],
)
def test_a_missing_or_bad_sbom_is_an_error_naming_the_host(tmp_path, content, message):
    if content is not None:
        (tmp_path / "web.cdx.json").write_text(content)
    result = run_action("exposure", {"package": "openssl", "sbom_dir": str(tmp_path)}, ActionShell())
    assert result["failed"] is True and (message % tmp_path if "%s" in message else message) in result["msg"]
    assert "web" in result["msg"]
