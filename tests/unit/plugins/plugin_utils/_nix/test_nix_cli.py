"""What the controller's Nix CLI (plugins/plugin_utils/_nix/nix_cli.py) makes of Nix's messages, the
same on Nix 2.8 and 2.34 (whose shapes differ)."""

from pathlib import Path

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import (
    NixError,
    NixTooOld,
    missing_nix_features,
    nix_too_old,
)


NIX_OUTPUTS = Path(__file__).resolve().parents[3] / "nix_outputs"


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
