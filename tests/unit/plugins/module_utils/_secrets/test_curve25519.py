"""X25519 and the Ed25519-to-X25519 conversion (module_utils._secrets.curve25519), proven with RFC 7748's
vectors."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets.curve25519 import (
    CurveError,
    ed25519_to_x25519_public,
    x25519_public,
    x25519_shared,
)


def test_x25519_rfc7748_vectors():
    # RFC 7748 section 5.2, first vector, and section 6.1 (Alice's key pair).
    scalar = bytes.fromhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4")
    u = bytes.fromhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")
    assert (x25519_shared(scalar, u) or b"").hex() == "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"
    alice = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    assert (x25519_public(alice) or b"").hex() == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    # Section 6.1: Alice's secret with Bob's public key gives their shared secret.
    bob = bytes.fromhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    assert (
        x25519_shared(alice, bob) or b""
    ).hex() == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
    # u = 0 is a point of small order: the all-zero result age must reject.
    assert x25519_shared(alice, bytes(32)) is None
    with pytest.raises(CurveError, match="32 bytes"):
        x25519_public(alice[:31])


def test_points_off_the_curve_are_refused():
    # y = 2 is not the y coordinate of any Ed25519 point (x^2 would be a non-square).
    with pytest.raises(CurveError):
        ed25519_to_x25519_public((2).to_bytes(32, "little"))
    with pytest.raises(CurveError):
        ed25519_to_x25519_public((1).to_bytes(32, "little"))
