# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Bech32 (BIP 173), the encoding of age recipients (``age1…``) and identities (``AGE-SECRET-KEY-1…``).

age uses plain Bech32 (not Bech32m) without BIP 173's 90-character limit. Pure Python, no
dependencies, so it runs anywhere Ansible does.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


class Bech32Error(ValueError):
    """A string is not valid Bech32 (the message says why, never echoing the string)."""


def _polymod(values: Sequence[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i, gen in enumerate(_GENERATOR):
            if (top >> i) & 1:
                chk ^= gen
    return chk


def _hrp_expand(hrp: str) -> List[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: Sequence[int], from_bits: int, to_bits: int, pad: bool) -> List[int]:
    acc = bits = 0
    out = []
    max_value = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & max_value)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & max_value)
    elif bits >= from_bits or ((acc << (to_bits - bits)) & max_value):
        raise Bech32Error("invalid padding in the data part")
    return out


def encode(hrp: str, data: bytes) -> str:
    """Bech32 of ``data`` with human-readable part ``hrp`` (lower case)."""
    hrp = hrp.lower()
    five = _convert_bits(list(data), 8, 5, pad=True)
    polymod = _polymod(_hrp_expand(hrp) + five + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(CHARSET[d] for d in five + checksum)


def decode(text: str) -> Tuple[str, bytes]:
    """``(hrp, data)`` of a Bech32 string (all upper or all lower case)."""
    if text.lower() != text and text.upper() != text:
        raise Bech32Error("mixed upper and lower case")
    text = text.lower()
    sep = text.rfind("1")
    if sep < 1 or sep + 7 > len(text):
        raise Bech32Error("no separator '1' followed by a data part and checksum")
    hrp, rest = text[:sep], text[sep + 1 :]
    if any(ord(c) < 33 or ord(c) > 126 for c in hrp):
        raise Bech32Error("invalid character in the human-readable part")
    bad = [c for c in rest if c not in CHARSET]
    if bad:
        raise Bech32Error("character outside the Bech32 alphabet in the data part")
    values = [CHARSET.index(c) for c in rest]
    if _polymod(_hrp_expand(hrp) + values) != 1:
        raise Bech32Error("checksum mismatch (a typo, or a truncated key)")
    return hrp, bytes(_convert_bits(values[:-6], 5, 8, pad=False))
