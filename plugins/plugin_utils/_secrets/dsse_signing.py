# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Ed25519 keys, and DSSE envelopes signed and checked with them, on the controller (with
``cryptography``, which ansible-core already needs). A private key is PEM (PKCS#8, ``BEGIN PRIVATE
KEY``) or OpenSSH (``BEGIN OPENSSH PRIVATE KEY``, unencrypted); a public key PEM (``BEGIN PUBLIC
KEY``) or an OpenSSH line (``ssh-ed25519 AAAA…``). Errors never quote a private key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain import provenance as pv

if TYPE_CHECKING:  # imported where used: a controller without cryptography still loads the collection
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


@dataclass(frozen=True)
class PublicKey:
    key: Ed25519PublicKey
    keyid: str


def _raw(public: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_of(key: Ed25519PublicKey) -> PublicKey:
    return PublicKey(key, pv.key_id(_raw(key)))


def private_key(text: str, option: str = "key") -> Ed25519PrivateKey:
    """An Ed25519 private key from its PEM or OpenSSH text."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    data = (text or "").strip().encode("utf-8") + b"\n"
    try:
        if b"OPENSSH PRIVATE KEY" in data:
            key: Any = serialization.load_ssh_private_key(data, password=None)
        else:
            key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ValueError("%s is not an unencrypted Ed25519 private key in PEM (PKCS#8) or OpenSSH form" % option)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("%s is a %s key, not Ed25519" % (option, type(key).__name__.replace("PrivateKey", "")))
    return key


def public_key(text: str, option: str = "keys") -> PublicKey:
    """An Ed25519 public key from PEM or an OpenSSH ``ssh-ed25519`` line."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    data = (text or "").strip().encode("utf-8")
    try:
        if data.startswith(b"ssh-"):
            key: Any = serialization.load_ssh_public_key(data)
        else:
            key = serialization.load_pem_public_key(data + b"\n")
    except (ValueError, TypeError, IndexError):
        raise ValueError("%s: %r is not an Ed25519 public key in PEM or OpenSSH form" % (option, (text or "")[:60]))
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("%s: %r is not an Ed25519 key" % (option, (text or "")[:60]))
    return public_key_of(key)


def sign(key: Ed25519PrivateKey, document: Dict[str, Any]) -> Tuple[Dict[str, Any], str]:
    """The DSSE envelope of ``document`` signed with ``key``, and the key's id."""
    body = pv.payload(document)
    keyid = pv.key_id(_raw(key.public_key()))
    return pv.envelope(body, [(keyid, key.sign(pv.pae(pv.PAYLOAD_TYPE, body)))]), keyid


def verified_by(envelope: Any, trusted: List[PublicKey]) -> Tuple[bytes, Optional[str]]:
    """The envelope's payload and the id of the first trusted key whose signature over it holds
    (None: no trusted key signed it). A ``ProvenanceError`` when it is no envelope."""
    from cryptography.exceptions import InvalidSignature

    body, signatures = pv.opened(envelope)
    message = pv.pae(envelope["payloadType"], body)
    for keyid, signature in signatures:
        for key in trusted:
            if keyid and keyid != key.keyid:
                continue
            try:
                key.key.verify(signature, message)
            except InvalidSignature:
                continue
            return body, key.keyid
    return body, None
