import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils.nix_version import NixVersion


def test_debian_nix_2_8():
    v = NixVersion.parse("nix (Nix) 2.8.0\n")
    assert v.implementation == "Nix" and v.version == (2, 8, 0)
    assert v.supports_flakes
    assert not v.has_print_out_paths
    assert not v.path_info_json_is_object
    assert str(v) == "Nix 2.8.0"


def test_nix_2_18_and_2_24():
    assert NixVersion.parse("nix (Nix) 2.18.1").has_print_out_paths
    assert not NixVersion.parse("nix (Nix) 2.18.1").path_info_json_is_object
    assert NixVersion.parse("nix (Nix) 2.24.10").path_info_json_is_object


def test_lix():
    v = NixVersion.parse("nix (Lix, like Nix) 2.91.1\nSystem type: x86_64-linux")
    assert v.is_lix and v.version == (2, 91, 1)
    assert v.supports_flakes and v.has_print_out_paths
    assert not v.path_info_json_is_object


def test_nix_env_style_output():
    assert NixVersion.parse("nix-env (Nix) 2.8.0").version == (2, 8, 0)


def test_old_nix_has_no_flakes():
    assert not NixVersion.parse("nix (Nix) 2.3.16").supports_flakes


@pytest.mark.parametrize("bad", ["", "command not found", "Nix 2.8"])
def test_unparseable(bad):
    with pytest.raises(ValueError):
        NixVersion.parse(bad)
