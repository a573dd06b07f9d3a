"""Signing keys (module_utils._caches.cache_key) against nix-store's own."""

import subprocess

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._caches import cache_key as ck
from ansible_collections.nixfleet.nixos.plugins.module_utils._caches import nix_conf as nc


@pytest.mark.host_tools
def test_public_key_matches_nix_store(tmp_path):
    subprocess.run(
        ["nix-store", "--generate-binary-cache-key", "unit-1", str(tmp_path / "sec"), str(tmp_path / "pub")], check=True
    )
    secret = (tmp_path / "sec").read_text()
    assert ck.public_of_secret(secret) == (tmp_path / "pub").read_text().strip()
    nc.validate_public_key(ck.public_of_secret(secret))  # what nix_conf accepts for trusted-public-keys
    with pytest.raises(ck.CacheKeyError, match="32 bytes|not a 64-byte") as info:
        ck.public_of_secret((tmp_path / "pub").read_text())  # a public key is not a secret key
    assert secret.split(":")[1] not in str(info.value)
    with pytest.raises(ck.CacheKeyError, match="not 'name:base64'"):
        ck.public_of_secret("no colon here")
    with pytest.raises(ck.CacheKeyError, match="not a key name"):
        ck.check_name("bad name")
