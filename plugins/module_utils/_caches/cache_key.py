# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Nix binary cache signing keys, as ``nix-store --generate-binary-cache-key`` writes them.

The secret key is ``NAME:base64(64 bytes)`` (an Ed25519 seed followed by its public key), the
public key ``NAME:base64(32 bytes)``: the public key is the secret key's last 32 bytes, so it can
be derived without any tool. Messages never quote a secret key.
"""

from __future__ import annotations

import base64
import binascii
import re

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class CacheKeyError(ValueError):
    """Not a Nix signing key (the message never contains the key)."""


def check_name(name: str) -> str:
    if not NAME.fullmatch(name or ""):
        raise CacheKeyError("%r is not a key name (letters, digits, '.', '_', '-'; e.g. cache.example.org-1)" % name)
    return name


def public_of_secret(secret: str, where: str = "the secret key") -> str:
    """``NAME:base64`` public key of a ``NAME:base64`` secret key."""
    name, sep, data = secret.strip().partition(":")
    if not sep or not NAME.fullmatch(name):
        raise CacheKeyError("%s is not 'name:base64' (as nix-store --generate-binary-cache-key writes it)" % where)
    try:
        raw = base64.b64decode(data.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise CacheKeyError("%s is not valid base64 after the name" % where)
    if len(raw) != 64:
        raise CacheKeyError("%s holds %d bytes, not a 64-byte Ed25519 secret key (a public key?)" % (where, len(raw)))
    return "%s:%s" % (name, base64.b64encode(raw[32:]).decode())


def key_name(key: str) -> str:
    return key.strip().partition(":")[0]
