# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few Curve25519 operations ssh-to-age and age need, in pure Python.

* ``x25519(scalar, u)``: RFC 7748 scalar multiplication (``x25519_base`` for public keys);
* ``ed25519_to_x25519_public(pk)``: the Montgomery u coordinate of an Ed25519 public point,
  ``u = (1 + y) / (1 - y)`` (RFC 7748 §4.1 birational map), after checking the point is on the curve.

These run on the controller over public data or a key the user owns; they are not meant to be
constant-time and must not run where an attacker can time them.
"""

from __future__ import annotations

P = 2 ** 255 - 19
A24 = 121665
D = (-121665 * pow(121666, P - 2, P)) % P
BASE_U = 9


class CurveError(ValueError):
    """Bytes that are not a valid Curve25519/Ed25519 key."""


def _decode_scalar(k: bytes) -> int:
    if len(k) != 32:
        raise CurveError("an X25519 scalar is 32 bytes, not %d" % len(k))
    b = bytearray(k)
    b[0] &= 248
    b[31] &= 127
    b[31] |= 64
    return int.from_bytes(bytes(b), "little")


def _decode_u(u: bytes) -> int:
    if len(u) != 32:
        raise CurveError("an X25519 public key is 32 bytes, not %d" % len(u))
    return int.from_bytes(u, "little") & ((1 << 255) - 1)


def x25519(scalar: bytes, u: bytes) -> bytes:
    """RFC 7748 X25519: ``scalar`` · ``u`` (32 bytes each, little-endian)."""
    k = _decode_scalar(scalar)
    x1 = _decode_u(u)
    x2, z2, x3, z3 = 1, 0, x1, 1
    swap = 0
    for t in reversed(range(255)):
        bit = (k >> t) & 1
        swap ^= bit
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = bit
        a, b = (x2 + z2) % P, (x2 - z2) % P
        aa, bb = a * a % P, b * b % P
        e = (aa - bb) % P
        c, d = (x3 + z3) % P, (x3 - z3) % P
        da, cb = d * a % P, c * b % P
        x3 = (da + cb) ** 2 % P
        z3 = x1 * (da - cb) ** 2 % P
        x2 = aa * bb % P
        z2 = e * (aa + A24 * e) % P
    if swap:
        x2, z2 = x3, z3
    return (x2 * pow(z2, P - 2, P) % P).to_bytes(32, "little")


def x25519_base(scalar: bytes) -> bytes:
    """The X25519 public key of ``scalar``."""
    return x25519(scalar, BASE_U.to_bytes(32, "little"))


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
