# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""age identities and recipients, and ssh-to-age, without any external program.

* An identity is ``AGE-SECRET-KEY-1…``: Bech32 (hrp ``age-secret-key-``, upper-cased) of a
  32-byte X25519 scalar; its recipient is ``age1…``: Bech32 (hrp ``age``) of its X25519 public
  key (computed by ``cryptography``). An identity file (``age-keygen`` output, sops-nix's ``key.txt``) holds one identity
  per line, with ``#`` comments and blank lines allowed.
* ssh-to-age: the recipient of an ssh-ed25519 public key is the Montgomery u coordinate of its
  point; the identity of the private key is the first 32 bytes of SHA-512 of its seed.

Nothing here ever puts key material in an error message.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import List

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets import bech32
from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets.curve25519 import (
    CurveError,
    ed25519_to_x25519_public,
    x25519_public,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets.openssh_key import (
    SshKeyError,
    parse_private_key,
    parse_public_key,
)

IDENTITY_HRP = "age-secret-key-"
RECIPIENT_HRP = "age"


class AgeKeyError(ValueError):
    """Malformed age or ssh key material (the message never contains the key)."""


@dataclass(frozen=True)
class Identity:
    """One X25519 age identity. ``repr`` never shows the scalar."""

    scalar: bytes

    def __repr__(self) -> str:
        return "Identity(recipient=%s)" % self.recipient

    @property
    def recipient(self) -> str:
        return encode_recipient(self.public)

    @property
    def public(self) -> bytes:
        return x25519_public(self.scalar)

    def encode(self) -> str:
        return bech32.encode(IDENTITY_HRP, self.scalar).upper()


def encode_recipient(public: bytes) -> str:
    return bech32.encode(RECIPIENT_HRP, public)


def parse_identity(text: str, where: str = "the identity") -> Identity:
    """One ``AGE-SECRET-KEY-1…`` string."""
    text = text.strip()
    if not text.upper().startswith("AGE-SECRET-KEY-1"):
        raise AgeKeyError("%s does not start with AGE-SECRET-KEY-1 (is it an age identity?)" % where)
    try:
        hrp, data = bech32.decode(text)
    except bech32.Bech32Error as exc:
        raise AgeKeyError("%s is not valid Bech32: %s" % (where, exc))
    if hrp != IDENTITY_HRP or len(data) != 32:
        raise AgeKeyError("%s is not an X25519 age identity (%d bytes)" % (where, len(data)))
    return Identity(data)


def parse_recipient(text: str, where: str = "the recipient") -> bytes:
    """The 32-byte X25519 public key of an ``age1…`` recipient."""
    try:
        hrp, data = bech32.decode(text.strip())
    except bech32.Bech32Error as exc:
        raise AgeKeyError("%s %r is not a valid age recipient: %s" % (where, text.strip()[:70], exc))
    if hrp != RECIPIENT_HRP or len(data) != 32:
        raise AgeKeyError("%s %r is not an X25519 age recipient (age1…)" % (where, text.strip()[:70]))
    return data


def parse_identity_file(text: str, where: str = "the key file") -> List[Identity]:
    """Every identity of an age identity file; at least one, every other line blank or a comment."""
    identities = []
    for number, line in enumerate((text or "").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        identities.append(parse_identity(line, "line %d of %s" % (number, where)))
    if not identities:
        raise AgeKeyError("%s holds no age identity (AGE-SECRET-KEY-1… line)" % where)
    return identities


def recipients_of(text: str, where: str = "the key file") -> List[str]:
    """The ``age1…`` recipients of every identity in an identity file, in order."""
    return [identity.recipient for identity in parse_identity_file(text, where)]


def ssh_to_age_recipient(public_key_line: str) -> str:
    """The age recipient of an ssh-ed25519 public key line, exactly as ``ssh-to-age`` prints it."""
    try:
        return encode_recipient(ed25519_to_x25519_public(parse_public_key(public_key_line)))
    except (SshKeyError, CurveError) as exc:
        raise AgeKeyError("cannot convert the ssh public key to age: %s" % exc)


def ssh_to_age_identity(private_key_text: str) -> Identity:
    """The age identity of an OpenSSH ed25519 private key (``ssh-to-age -private-key``)."""
    try:
        key = parse_private_key(private_key_text)
    except SshKeyError as exc:
        raise AgeKeyError("cannot convert the ssh private key to age: %s" % exc)
    return Identity(hashlib.sha512(key.seed).digest()[:32])
