"""closure_diff (plugins/plugin_utils/_activation/closure_diff.py): derivation diffs read the same on
Nix 2.8 and 2.34 (whose shapes differ)."""

from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.closure_diff import versions_without_drv


def test_derivation_diffs_read_the_same_on_every_nix():
    # nix store diff-closures of two .drv files, as Nix 2.34 prints it (2.8 prints no ".drv").
    assert (
        versions_without_drv("nixos-system-node02: 1.drv → 2.drv\nbase: ∅ → 1.drv, 2.drv\n")
        == "nixos-system-node02: 1 → 2\nbase: ∅ → 1, 2\n"
    )
