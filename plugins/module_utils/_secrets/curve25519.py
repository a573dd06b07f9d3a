# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""The Curve25519 operations ssh-to-age and age need.

* ``x25519_public(scalar)`` and ``x25519_shared(scalar, peer)``: X25519 (RFC 7748) from the
  ``cryptography`` package (OpenSSL's constant-time implementation), which ansible-core already
  requires on the controller. No scalar multiplication is written here.
* ``ed25519_to_x25519_public(pk)``: the Montgomery u coordinate of an Ed25519 public point,
  ``u = (1 + y) / (1 - y)`` (RFC 7748 §4.1 birational map), after checking the point is on the
  curve. ``cryptography`` has no such conversion; it is field arithmetic on a *public* key only.
"""

from __future__ import annotations

from typing import Any, Optional

P = 2**255 - 19
D = (-121665 * pow(121666, P - 2, P)) % P


class CurveError(ValueError):
    """Bytes that are not a valid Curve25519/Ed25519 key."""


def _x25519() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import x25519
    except ImportError:  # pragma: no cover - ansible-core depends on cryptography
        raise CurveError("X25519 needs the Python 'cryptography' package on the controller")
    return x25519


def _raw_public(key: Any) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _private_key(scalar: bytes) -> Any:
    if len(scalar) != 32:
        raise CurveError("an X25519 scalar is 32 bytes, not %d" % len(scalar))
    return _x25519().X25519PrivateKey.from_private_bytes(scalar)


def x25519_public(scalar: bytes) -> bytes:
    """The 32-byte X25519 public key of a 32-byte private ``scalar`` (RFC 7748 ``X25519(k, 9)``)."""
    return _raw_public(_private_key(scalar).public_key())


def x25519_shared(scalar: bytes, peer: bytes) -> Optional[bytes]:
    """The X25519 shared secret of ``scalar`` and the ``peer`` public key (RFC 7748 ``X25519(k, u)``).

    ``None`` when the result is all zeros (``peer`` is a low-order point), which age requires the
    recipient to reject.
    """
    if len(peer) != 32:
        raise CurveError("an X25519 public key is 32 bytes, not %d" % len(peer))
    private = _private_key(scalar)
    public = _x25519().X25519PublicKey.from_public_bytes(peer)
    try:
        shared = private.exchange(public)
    except ValueError:  # cryptography refuses an all-zero shared secret
        return None
    return None if shared == b"\0" * 32 else shared


def ed25519_to_x25519_public(public: bytes) -> bytes:
    """The X25519 public key (Montgomery u) of an Ed25519 public key, as ssh-to-age computes it."""
    if len(public) != 32:
        raise CurveError("an Ed25519 public key is 32 bytes, not %d" % len(public))
    y = int.from_bytes(public, "little") & ((1 << 255) - 1)
    if y >= P:
        raise CurveError("the Ed25519 public key is not canonical")
    # The point must decompress: x^2 = (y^2 - 1) / (d y^2 + 1) needs a square root mod p.
    y2 = y * y % P
    x2 = (y2 - 1) * pow(D * y2 + 1, P - 2, P) % P
    if x2 and pow(x2, (P - 1) // 2, P) != 1:
        raise CurveError("the Ed25519 public key is not a point on the curve")
    if y == 1:
        raise CurveError("the Ed25519 public key is the identity point")
    u = (1 + y) * pow((1 - y) % P, P - 2, P) % P
    return u.to_bytes(32, "little")
