# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Opening age v1 files (https://age-encryption.org/v1) with X25519 identities.

Used to prove that a host's identity can unwrap a sops file's data key: the sops metadata
holds, per recipient, an armored age file whose plaintext is the data key. ``unwrap`` finds
the X25519 stanza the identity opens, checks the header MAC with the file key and decrypts
the payload (STREAM, ChaCha20-Poly1305). Callers get a verdict, never the file key or plaintext
in a message.

X25519, HKDF and ChaCha20-Poly1305 come from ``cryptography``, which ansible-core already
requires on the controller; the header MAC (HMAC-SHA-256) from the standard library.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import List, Optional, Sequence

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets.age_keys import Identity
from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets.curve25519 import CurveError, x25519_shared

VERSION_LINE = b"age-encryption.org/v1"
ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = "-----END AGE ENCRYPTED FILE-----"
X25519_INFO = b"age-encryption.org/v1/X25519"
CHUNK = 64 * 1024
TAG = 16


class AgeFileError(ValueError):
    """Not a well-formed age file."""


class NoMatchingIdentity(Exception):
    """No identity opens any recipient stanza of the file."""


@dataclass(frozen=True)
class Stanza:
    kind: str
    args: List[str]
    body: bytes


@dataclass(frozen=True)
class AgeFile:
    stanzas: List[Stanza]
    header_for_mac: bytes  # the header up to and including "---"
    mac: bytes
    payload: bytes


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    """RFC 5869 HKDF with SHA-256 (``cryptography``'s); an empty salt means no salt, as in age."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt or None, info=info).derive(ikm)


def _b64_raw(text: bytes, what: str) -> bytes:
    """age's base64: standard alphabet, no padding."""
    if b"=" in text:
        raise AgeFileError("%s has base64 padding, which age forbids" % what)
    try:
        return base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise AgeFileError("%s is not valid base64" % what)


def dearmor(text: str) -> bytes:
    """The binary age file inside ``-----BEGIN AGE ENCRYPTED FILE-----`` armor (as sops stores it)."""
    stripped = text.strip()
    if not stripped.startswith(ARMOR_BEGIN):
        raise AgeFileError("not an armored age file (no '%s' line)" % ARMOR_BEGIN)
    if not stripped.endswith(ARMOR_END):
        raise AgeFileError("the armored age file has no '%s' line" % ARMOR_END)
    body = "".join(stripped[len(ARMOR_BEGIN) : -len(ARMOR_END)].split())
    try:
        return base64.b64decode(body.encode("ascii"), validate=True)
    except (binascii.Error, ValueError):
        raise AgeFileError("the armored age file is not valid base64")


def parse(data: bytes) -> AgeFile:
    """Split a binary age file into stanzas, MAC and payload."""
    if not data.startswith(VERSION_LINE + b"\n"):
        raise AgeFileError("not an age v1 file (no 'age-encryption.org/v1' line)")
    pos = len(VERSION_LINE) + 1
    stanzas: List[Stanza] = []
    while True:
        lines_end = data.find(b"\n", pos)
        if lines_end < 0:
            raise AgeFileError("the age header is truncated")
        line = data[pos:lines_end]
        if line.startswith(b"--- ") or line == b"---":
            mac = _b64_raw(line[4:], "the header MAC")
            return AgeFile(stanzas, data[: pos + 3], mac, data[lines_end + 1 :])
        if not line.startswith(b"-> "):
            raise AgeFileError("unexpected line in the age header")
        words = line[3:].decode("ascii", "replace").split(" ")
        pos = lines_end + 1
        body = b""
        while True:  # body lines are 64 columns; the last one is shorter (maybe empty)
            end = data.find(b"\n", pos)
            if end < 0:
                raise AgeFileError("a stanza body is truncated")
            chunk = data[pos:end]
            body += chunk
            pos = end + 1
            if len(chunk) < 64:
                break
        stanzas.append(Stanza(words[0], words[1:], _b64_raw(body, "a stanza body")))


def _aead():
    try:
        from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    except ImportError:  # pragma: no cover - ansible-core depends on cryptography
        raise AgeFileError("opening age files needs the Python 'cryptography' package on the controller")
    return ChaCha20Poly1305


def _open(key: bytes, nonce: bytes, sealed: bytes) -> Optional[bytes]:
    from cryptography.exceptions import InvalidTag

    try:
        return _aead()(key).decrypt(nonce, sealed, None)
    except InvalidTag:
        return None


def _x25519_file_key(stanza: Stanza, identity: Identity) -> Optional[bytes]:
    if stanza.kind != "X25519" or len(stanza.args) != 1 or len(stanza.body) != 32:
        return None
    share = _b64_raw(stanza.args[0].encode(), "an X25519 share")
    if len(share) != 32:
        raise AgeFileError("an X25519 stanza's share is not 32 bytes")
    try:
        shared = x25519_shared(identity.scalar, share)
    except CurveError as exc:
        raise AgeFileError("an X25519 stanza's share is not a public key: %s" % exc)
    if shared is None:
        return None
    wrap_key = hkdf_sha256(shared, share + identity.public, X25519_INFO)
    return _open(wrap_key, b"\0" * 12, stanza.body)


def _decrypt_payload(file_key: bytes, payload: bytes) -> bytes:
    if len(payload) < 16 + TAG:
        raise AgeFileError("the age payload is truncated")
    key = hkdf_sha256(file_key, payload[:16], b"payload")
    body, out, counter = payload[16:], b"", 0
    while True:
        chunk, body = body[: CHUNK + TAG], body[CHUNK + TAG :]
        last = not body
        plain = _open(key, counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00"), chunk)
        if plain is None:
            raise AgeFileError("the age payload does not decrypt (corrupt or truncated)")
        out += plain
        if last:
            return out
        counter += 1


def unwrap(data: bytes, identities: Sequence[Identity]) -> bytes:
    """The plaintext of an age file, opened with the first of ``identities`` that fits.

    Raises ``NoMatchingIdentity`` when none opens a stanza, ``AgeFileError`` when the file is
    malformed or its MAC or payload do not verify.
    """
    parsed = parse(data)
    for stanza in parsed.stanzas:
        for identity in identities:
            file_key = _x25519_file_key(stanza, identity)
            if file_key is None:
                continue
            mac_key = hkdf_sha256(file_key, b"", b"header")
            if not hmac.compare_digest(hmac.new(mac_key, parsed.header_for_mac, hashlib.sha256).digest(), parsed.mac):
                raise AgeFileError("the age header MAC does not verify (the file was tampered with)")
            return _decrypt_payload(file_key, parsed.payload)
    kinds = sorted({s.kind for s in parsed.stanzas})
    raise NoMatchingIdentity(
        "none of the %d identities opens any of the file's %d stanzas (%s)"
        % (len(identities), len(parsed.stanzas), ", ".join(kinds))
    )
