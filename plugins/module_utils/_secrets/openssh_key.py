# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Reading OpenSSH Ed25519 keys: the public key line and the ``openssh-key-v1`` private key file.

Only what ssh-to-age needs: the 32-byte public point and the 32-byte private seed. Errors never
quote the key text.
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass
from typing import Tuple

ED25519 = "ssh-ed25519"
PRIVATE_BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----"
PRIVATE_END = "-----END OPENSSH PRIVATE KEY-----"
MAGIC = b"openssh-key-v1\0"


class SshKeyError(ValueError):
    """Not an (unencrypted) OpenSSH Ed25519 key."""


@dataclass(frozen=True)
class Ed25519PrivateKey:
    seed: bytes  # 32 bytes
    public: bytes  # 32 bytes
    comment: str = ""


def _uint32(data: bytes, offset: int) -> int:
    if offset + 4 > len(data):
        raise SshKeyError("the key is truncated")
    return struct.unpack(">I", data[offset : offset + 4])[0]


def _string(data: bytes, offset: int) -> Tuple[bytes, int]:
    length = _uint32(data, offset)
    end = offset + 4 + length
    if end > len(data):
        raise SshKeyError("the key is truncated")
    return data[offset + 4 : end], end


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise SshKeyError("%s is not valid base64" % what)


def public_key_blob(blob: bytes) -> bytes:
    """The 32-byte point of an ``ssh-ed25519`` public key blob."""
    kind, offset = _string(blob, 0)
    if kind.decode("ascii", "replace") != ED25519:
        raise SshKeyError(
            "the key is of type %r; ssh-to-age needs an ssh-ed25519 key" % kind.decode("ascii", "replace")
        )
    point = _string(blob, offset)[0]
    if len(point) != 32:
        raise SshKeyError("an ssh-ed25519 public key holds 32 bytes, this one %d" % len(point))
    return point


def parse_public_key(line: str) -> bytes:
    """The 32-byte Ed25519 point of an OpenSSH public key line (``ssh-ed25519 AAAA… comment``)."""
    words = (line or "").strip().split()
    if len(words) < 2:
        raise SshKeyError("not an OpenSSH public key line (expected 'ssh-ed25519 AAAA… [comment]')")
    if words[0] != ED25519:
        raise SshKeyError("the key is of type %r; ssh-to-age needs an ssh-ed25519 key" % words[0][:40])
    return public_key_blob(_b64(words[1], "the public key"))


def parse_private_key(text: str) -> Ed25519PrivateKey:
    """The seed and public point of an unencrypted OpenSSH Ed25519 private key file."""
    text = (text or "").strip()
    if not (text.startswith(PRIVATE_BEGIN) and text.endswith(PRIVATE_END)):
        raise SshKeyError("not an OpenSSH private key (no '%s' armor)" % PRIVATE_BEGIN)
    body = "".join(text[len(PRIVATE_BEGIN) : -len(PRIVATE_END)].split())
    data = _b64(body, "the private key")
    if not data.startswith(MAGIC):
        raise SshKeyError("not an openssh-key-v1 private key")
    offset = len(MAGIC)
    cipher, offset = _string(data, offset)
    kdf, offset = _string(data, offset)
    offset = _string(data, offset)[1]  # kdf options
    if cipher != b"none" or kdf != b"none":
        raise SshKeyError(
            "the private key is passphrase-protected (cipher %s); use an unencrypted host key"
            % cipher.decode("ascii", "replace")
        )
    count = _uint32(data, offset)
    if count != 1:
        raise SshKeyError("the key file holds %d keys, expected 1" % count)
    public_blob, offset = _string(data, offset + 4)
    section = _string(data, offset)[0]
    if len(section) < 8 or section[0:4] != section[4:8]:
        raise SshKeyError("the private key's check bytes do not match (corrupt, or encrypted)")
    kind, pos = _string(section, 8)
    if kind != ED25519.encode():
        raise SshKeyError(
            "the key is of type %r; ssh-to-age needs an ssh-ed25519 key" % kind.decode("ascii", "replace")
        )
    public, pos = _string(section, pos)
    secret, pos = _string(section, pos)
    comment = _string(section, pos)[0]
    if len(public) != 32 or len(secret) != 64 or secret[32:] != public or public != public_key_blob(public_blob):
        raise SshKeyError("the Ed25519 private key is inconsistent with its public key")
    return Ed25519PrivateKey(seed=secret[:32], public=public, comment=comment.decode("utf-8", "replace"))
