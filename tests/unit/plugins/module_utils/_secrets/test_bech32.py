"""Bech32 (module_utils._secrets.bech32), proven with BIP 173's vectors."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets import bech32


def test_bech32_bip173_vectors():
    for valid in (
        "A12UEL5L",
        "a12uel5l",
        "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
        "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    ):
        hrp, data = bech32.decode(valid)
        assert bech32.encode(hrp, data) == valid.lower()
    for invalid in ("A1G7SGD8", "a12UEL5L", "10a06t8", "1qzzfhee", "x1b4n0q5v", "li1dgmt3"):
        with pytest.raises(bech32.Bech32Error):
            bech32.decode(invalid)
