"""dsse_signing (plugins/plugin_utils/_secrets/dsse_signing.py): Ed25519 keys read from PEM and OpenSSH
text, DSSE envelopes signed with a real key and checked against trusted keys; a tampered envelope, or
one signed by a key nobody trusts, is not verified. Expected values are computed here from the DSSE and
securesystemslib definitions, not taken from the module."""

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain.provenance import ProvenanceError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._secrets import dsse_signing as ds

STATEMENT = {"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": "web", "digest": {"sha256": "ab"}}]}
PAYLOAD_TYPE = "application/vnd.in-toto+json"


def pem_private(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def openssh_private(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()


def pem_public(key):
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def openssh_public(key):
    return (
        key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
        + " alice@ctl"
    )


def securesystemslib_keyid(key):
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    canonical = '{"keytype":"ed25519","keyval":{"public":"%s"},"scheme":"ed25519"}' % raw.hex()
    return hashlib.sha256(canonical.encode()).hexdigest()


@pytest.fixture(scope="module")
def signer():
    return Ed25519PrivateKey.generate()


def test_a_signed_envelope_is_dsse_over_the_sorted_json_statement(signer):
    envelope, keyid = ds.sign(ds.private_key(pem_private(signer)), STATEMENT)
    assert keyid == securesystemslib_keyid(signer)
    body = base64.b64decode(envelope["payload"])
    assert (
        json.loads(body) == STATEMENT and body == json.dumps(STATEMENT, sort_keys=True, separators=(",", ":")).encode()
    )
    assert envelope["payloadType"] == PAYLOAD_TYPE
    [signature] = envelope["signatures"]
    assert signature["keyid"] == keyid
    # the signature holds over DSSE v1's pre-authentication encoding, checked with cryptography itself
    pae = b"DSSEv1 %d %s %d %s" % (len(PAYLOAD_TYPE), PAYLOAD_TYPE.encode(), len(body), body)
    signer.public_key().verify(base64.b64decode(signature["sig"]), pae)


@pytest.mark.parametrize("form", [pem_public, openssh_public])
def test_a_trusted_key_verifies_its_envelope_in_either_form(signer, form):
    envelope, keyid = ds.sign(ds.private_key(openssh_private(signer)), STATEMENT)
    trusted = ds.public_key(form(signer))
    assert trusted.keyid == keyid
    assert ds.verified_by(envelope, [trusted]) == (ds.pv.payload(STATEMENT), keyid)


def tampered(envelope, **changes):
    copy = dict(envelope, **changes)
    copy["signatures"] = [dict(s) for s in envelope["signatures"]]
    return copy


def test_a_tampered_envelope_is_not_verified(signer):
    envelope, _keyid = ds.sign(ds.private_key(pem_private(signer)), STATEMENT)
    trusted = [ds.public_key(pem_public(signer))]
    forged = dict(STATEMENT, subject=[{"name": "web", "digest": {"sha256": "cd"}}])
    other_body = json.dumps(forged, sort_keys=True, separators=(",", ":")).encode()
    changed_payload = tampered(envelope, payload=base64.b64encode(other_body).decode())
    assert ds.verified_by(changed_payload, trusted) == (other_body, None)
    flipped = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    flipped[0] ^= 1
    changed_signature = tampered(envelope)
    changed_signature["signatures"][0]["sig"] = base64.b64encode(bytes(flipped)).decode()
    assert ds.verified_by(changed_signature, trusted)[1] is None


def test_only_a_trusted_key_verifies_and_a_signature_is_matched_by_its_key_id(signer):
    stranger = Ed25519PrivateKey.generate()
    envelope, _keyid = ds.sign(ds.private_key(pem_private(stranger)), STATEMENT)
    assert ds.verified_by(envelope, [ds.public_key(pem_public(signer))])[1] is None
    both = [ds.public_key(pem_public(signer)), ds.public_key(pem_public(stranger))]
    assert ds.verified_by(envelope, both)[1] == securesystemslib_keyid(stranger)
    # a signature without a key id is tried against every trusted key
    anonymous = tampered(envelope)
    anonymous["signatures"][0]["keyid"] = ""
    assert ds.verified_by(anonymous, both)[1] == securesystemslib_keyid(stranger)


def test_what_is_no_envelope_is_a_provenance_error(signer):
    envelope, _keyid = ds.sign(ds.private_key(pem_private(signer)), STATEMENT)
    with pytest.raises(ProvenanceError, match="payloadType is 'text/plain'"):
        ds.verified_by(dict(envelope, payloadType="text/plain"), [])
    with pytest.raises(ProvenanceError, match="not a DSSE envelope"):
        ds.verified_by(dict(envelope, payload="not base64!"), [])


def test_keys_that_are_not_ed25519_or_not_keys_are_refused_without_quoting_a_private_key():
    ec = generate_private_key(SECP256R1())
    ec_pem = ec.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(ValueError, match=r"^signing_key is a \w+ key, not Ed25519$"):
        ds.private_key(ec_pem, "signing_key")
    secret = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXNlY3JldA==\n-----END PRIVATE KEY-----"
    with pytest.raises(ValueError) as caught:
        ds.private_key(secret, "signing_key")
    assert str(caught.value) == (
        "signing_key is not an unencrypted Ed25519 private key in PEM (PKCS#8) or OpenSSH form"
    )
    assert "c2VjcmV0" not in str(caught.value)
    encrypted = (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
        )
        .decode()
    )
    with pytest.raises(ValueError, match="not an unencrypted Ed25519 private key"):
        ds.private_key(encrypted)
    with pytest.raises(ValueError, match=r"^trusted_keys: 'ssh-ed25519 nonsense' is not an Ed25519 public key"):
        ds.public_key("ssh-ed25519 nonsense", "trusted_keys")
    ec_public = (
        ec.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(ValueError, match="is not an Ed25519 key$"):
        ds.public_key(ec_public)
