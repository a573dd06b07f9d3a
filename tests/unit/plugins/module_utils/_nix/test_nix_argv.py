import json

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix import nix_argv as cmd

S = cmd.NixSettings(nix="/usr/bin/nix", extra_args=("--override-input", "nixpkgs", "path:/x"))
FEATURES = ["--extra-experimental-features", "nix-command flakes"]


def test_build_one_invocation_for_all_installables():
    argv = cmd.build_argv(S, ["path:/f#a", "path:/f#b"])
    assert argv == ["/usr/bin/nix", "build"] + FEATURES + [
        "--json",
        "--no-link",
        "--keep-going",
        "--override-input",
        "nixpkgs",
        "path:/x",
        "path:/f#a",
        "path:/f#b",
    ]
    # Nix 2.8 has no --print-out-paths; the builders never use it.
    assert "--print-out-paths" not in argv


def test_copy_flags():
    argv = cmd.copy_argv(cmd.NixSettings(), ["/nix/store/p"], to="ssh-ng://root@h", substitute_on_destination=True)
    assert argv == ["nix", "copy"] + FEATURES + [
        "--to",
        "ssh-ng://root@h",
        "--substitute-on-destination",
        "--option",
        "builders-use-substitutes",
        "true",
        "/nix/store/p",
    ]
    assert "--no-check-sigs" in cmd.copy_argv(cmd.NixSettings(), ["/p"], to="x", no_check_sigs=True)


def test_eval_and_path_info():
    assert cmd.eval_json_argv(cmd.NixSettings(), "path:/f#x", apply="x: 1") == ["nix", "eval"] + FEATURES + [
        "--json",
        "--apply",
        "x: 1",
        "path:/f#x",
    ]
    assert cmd.path_info_argv(cmd.NixSettings(), ["/p"], store="ssh-ng://h") == ["nix", "path-info"] + FEATURES + [
        "--json",
        "--store",
        "ssh-ng://h",
        "/p",
    ]
    assert cmd.diff_closures_argv(cmd.NixSettings(), "/a", "/b")[:3] == ["nix", "store", "diff-closures"]


def test_unknown_option_is_a_bug():
    with pytest.raises(KeyError):
        cmd.nix_argv(cmd.NixSettings(), ["build"], print_out_paths=True)


def test_parse_build_json():
    out = json.dumps([{"drvPath": "/nix/store/d.drv", "outputs": {"out": "/nix/store/o"}}])
    assert cmd.parse_build_json(out)[0]["outputs"]["out"] == "/nix/store/o"
    with pytest.raises(ValueError):
        cmd.parse_build_json('{"not": "a list"}')


def test_parse_path_info_list_shape_of_nix_2_8():
    out = '[{"path":"/nix/store/a","narSize":3992,"references":[]},{"path":"/nix/store/b","valid":false}]'
    info = cmd.parse_path_info(out)
    assert (info["/nix/store/a"] or {}).get("narSize") == 3992
    assert info["/nix/store/b"] is None


def test_parse_path_info_object_shape_of_nix_2_19():
    out = '{"/nix/store/a":{"narSize":1,"references":[]},"/nix/store/b":null}'
    info = cmd.parse_path_info(out)
    assert (info["/nix/store/a"] or {}).get("narSize") == 1
    assert info["/nix/store/b"] is None
