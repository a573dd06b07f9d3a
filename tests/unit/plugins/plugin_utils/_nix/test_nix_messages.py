"""What the controller makes of Nix's messages, the same on Nix 2.8 and 2.34 (whose shapes differ)."""

from pathlib import Path

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import (
    NixError,
    NixTooOld,
    missing_nix_features,
    nix_too_old,
)
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.closure_diff import versions_without_drv
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.system_build import build_error_for

NIX_OUTPUTS = Path(__file__).resolve().parents[3] / "nix_outputs"


def test_derivation_diffs_read_the_same_on_every_nix():
    # nix store diff-closures of two .drv files, as Nix 2.34 prints it (2.8 prints no ".drv").
    assert (
        versions_without_drv("nixos-system-node02: 1.drv → 2.drv\nbase: ∅ → 1.drv, 2.drv\n")
        == "nixos-system-node02: 1 → 2\nbase: ∅ → 1, 2\n"
    )


def test_build_errors_name_the_cause_on_every_nix():
    web, db, etc = (
        "/nix/store/%s-nixos-system-%s.drv" % (c * 32, n) for c, n in (("a", "web"), ("b", "db"), ("c", "etc"))
    )
    # Nix 2.34's shape: the toplevel only says a dependency failed; the cause is in another block.
    stderr = (
        "error: builder for '%s' failed with exit code 1;\n       last 1 log lines:\n       > boom\n"
        "error: Cannot build '%s'.\n       Reason: 1 dependency failed.\n"
        "error: Cannot build '%s'.\n       Reason: builder failed.\n" % (etc, web, db)
    )
    msg = build_error_for(stderr, web, [web, db])
    assert "boom" in msg and "1 dependency failed" in msg and db not in msg
    assert build_error_for(stderr, db, [web, db]) == "error: Cannot build '%s'.\n       Reason: builder failed." % db


def test_a_nixpkgs_that_refuses_the_controllers_nix_is_one_clear_error():
    """The real abort of the nixpkgs in shared/nixpkgs under Debian 12's Nix 2.8 (recorded)."""
    stderr = (NIX_OUTPUTS / "2.8.0" / "nixpkgs-needs-newer-nix.stderr").read_text()
    assert missing_nix_features(stderr) == ["`builtins.nixVersion` reports at least 2.18"]
    error = nix_too_old(NixError("nix eval of path:/srv/infra failed", rc=1, stderr=stderr), "Nix 2.8.0")
    assert isinstance(error, NixTooOld)
    assert error.message == (
        "the flake's nixpkgs needs a newer Nix than the controller's (Nix 2.8.0): it requires "
        "`builtins.nixVersion` reports at least 2.18. Install Nix 2.18 or newer on the "
        "controller (Debian 13 has nix-bin 2.26) or point nix_binary at one"
    )
    assert nix_too_old(NixError("x", stderr="error: attribute 'fileSystems' missing\n"), "Nix 2.8.0") is None
    assert missing_nix_features("") == []
