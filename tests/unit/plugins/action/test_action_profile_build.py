"""plugins/action/profile_build.py: every host's package set in one real nix eval and one nix build
(hosts with the same packages share one set), on a small local flake whose packages Nix builds here."""

import os

import pytest


from action_harness import RecordingNix, run_action

FLAKE = """{
  outputs = { self }: let
    tool = name: derivation {
      inherit name; system = "x86_64-linux"; builder = "/bin/sh";
      args = [ "-c" "/bin/mkdir -p $out/bin && echo ${name} > $out/bin/${name}" ];
    };
  in { packages.x86_64-linux = { jq = tool "jq-1.7"; htop = tool "htop-3.3"; }; };
}
"""


@pytest.fixture
def flake(tmp_path):
    (tmp_path / "flake").mkdir()
    (tmp_path / "flake" / "flake.nix").write_text(FLAKE)
    return "path:%s" % (tmp_path / "flake")


@pytest.mark.host_tools
def test_same_packages_share_one_set_built_in_one_call(flake):
    jq, htop = flake + "#packages.x86_64-linux.jq", flake + "#packages.x86_64-linux.htop"
    nix = RecordingNix()
    result = run_action(
        "profile_build", {"packages_by_host": {"web": [jq, htop], "api": [htop, jq], "db": [jq]}}, nix=nix
    )
    assert not result.get("failed"), result
    assert nix.subcommands() == ["eval", "build"] and result["nix_calls"] == ["eval", "build"]
    assert result["sets"] == 2
    assert result["paths"]["web"] == result["paths"]["api"] != result["paths"]["db"]
    for host in ("web", "api", "db"):
        assert os.path.isdir(result["paths"][host])  # built
    web_tools = sorted(os.listdir(os.path.join(result["paths"]["web"], "bin")))
    assert web_tools == ["htop-3.3", "jq-1.7"]
    assert os.listdir(os.path.join(result["paths"]["db"], "bin")) == ["jq-1.7"]
    assert [p.rsplit("-", 2)[-2:] for p in result["packages"]["db"]] == [["jq", "1.7"]]
    assert result["changed"] is False


@pytest.mark.host_tools
def test_check_mode_evaluates_and_builds_nothing(flake):
    nix = RecordingNix()
    result = run_action(
        "profile_build", {"packages_by_host": {"web": [flake + "#packages.x86_64-linux.jq"]}}, nix=nix, check_mode=True
    )
    assert not result.get("failed"), result
    assert nix.subcommands() == ["eval"] and result["nix_calls"] == ["eval"]
    assert result["paths"]["web"].startswith("/nix/store/")


@pytest.mark.parametrize(
    "packages, message",
    [
        ({"web": []}, "web: the package list must be a non-empty list of FLAKEREF#ATTRIBUTE"),
        ({"web": ["github:acme/x#jq"], "db": "github:acme/x#jq"}, "db: the package list must be a non-empty list"),
        ({"web": ["jq"]}, "web: 'jq' is not FLAKEREF#ATTRIBUTE"),
    ],
)
def test_a_bad_list_is_an_error_naming_the_host_and_runs_no_nix(packages, message):
    def no_nix(options):
        raise AssertionError("Nix was called")

    result = run_action("profile_build", {"packages_by_host": packages}, nix=no_nix)
    assert result["failed"] is True and message in result["msg"]
