import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.store_path import StorePath

GOOD = "/nix/store/fdbsdqh96xcdfvxizjzr90dqy2v5d87k-nixos-system-node01-1"


def test_parts():
    p = StorePath(GOOD)
    assert p.name == "nixos-system-node01-1"
    assert str(p) == GOOD


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "/nix/store",
        "/nix/store/",
        "relative/path",
        "/nix/store/short-name",
        "/nix/store/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-name",  # 'e' is not in Nix's base-32
        "/other/store/fdbsdqh96xcdfvxizjzr90dqy2v5d87k-name",
        GOOD + "/bin/switch-to-configuration",
        GOOD + "\n",  # a pattern's $ matches before a final newline
        "/nix/store/fdbsdqh96xcdfvxizjzr90dqy2v5d87k-",
        "/nix/store/fdbsdqh96xcdfvxizjzr90dqy2v5d87k-na me",
    ],
)
def test_rejects(bad):
    with pytest.raises(ValueError):
        StorePath(bad)
