"""module_utils/_secrets/openssh_key.py on keys the real ssh-keygen writes: the public point and the private
seed agree with an independent Ed25519 implementation (cryptography); every refusal is named and
never quotes the key."""

import base64
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets import openssh_key as ok

SEED = bytes(range(32))


def ssh_keygen(tmp_path, *words):
    subprocess.run(["ssh-keygen", "-q", "-N", "", "-f", str(tmp_path / "key")] + list(words), check=True)
    return (tmp_path / "key").read_text(), (tmp_path / "key.pub").read_text()


def raw_public(private):
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def openssh_private(seed=SEED):
    """An unencrypted OpenSSH private key of ``seed`` written by cryptography (another writer)."""
    key = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode(), raw_public(key)


@pytest.mark.host_tools
def test_ssh_keygen_ed25519_pair(tmp_path):
    private_text, public_line = ssh_keygen(tmp_path, "-t", "ed25519", "-C", "root@web")
    key = ok.parse_private_key(private_text)
    assert key.comment == "root@web"
    assert raw_public(ed25519.Ed25519PrivateKey.from_private_bytes(key.seed)) == key.public  # seed → point
    assert ok.parse_public_key(public_line) == key.public
    assert ok.parse_public_key(" %s  " % public_line.split(" root@web")[0]) == key.public  # no comment


def test_a_key_written_by_cryptography_reads_to_its_seed():
    text, public = openssh_private()
    key = ok.parse_private_key(text)
    assert key.seed == SEED and key.public == public


@pytest.mark.host_tools
@pytest.mark.parametrize("kind, message", [("rsa", "'ssh-rsa'"), ("ecdsa", "'ecdsa-sha2-nistp256'")])
def test_other_key_types_are_named(tmp_path, kind, message):
    private_text, public_line = ssh_keygen(tmp_path, "-t", kind)
    for parse, text in ((ok.parse_public_key, public_line), (ok.parse_private_key, private_text)):
        with pytest.raises(ok.SshKeyError) as caught:
            parse(text)
        assert "the key is of type %s; ssh-to-age needs an ssh-ed25519 key" % message == str(caught.value)


@pytest.mark.host_tools
def test_a_passphrase_protected_key_is_refused(tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", str(tmp_path / "locked")], check=True)
    with pytest.raises(ok.SshKeyError) as caught:
        ok.parse_private_key((tmp_path / "locked").read_text())
    assert str(caught.value) == (
        "the private key is passphrase-protected (cipher aes256-ctr); use an unencrypted host key"
    )


def armored(data):
    return "%s\n%s\n%s\n" % (ok.PRIVATE_BEGIN, base64.b64encode(data).decode(), ok.PRIVATE_END)


def body(text):
    return base64.b64decode("".join(text.strip().splitlines()[1:-1]))


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "not an OpenSSH private key (no '-----BEGIN OPENSSH PRIVATE KEY-----' armor)"),
        ("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----", "no '-----BEGIN OPENSSH"),
        ("%s\n!!!!\n%s" % (ok.PRIVATE_BEGIN, ok.PRIVATE_END), "the private key is not valid base64"),
        (armored(b"something-else-v1\0"), "not an openssh-key-v1 private key"),
        (armored(ok.MAGIC + b"\0\0\0\x04no"), "the key is truncated"),
    ],
)
def test_malformed_private_keys(text, message):
    with pytest.raises(ok.SshKeyError) as caught:
        ok.parse_private_key(text)
    assert message in str(caught.value)


def test_corrupt_check_bytes_and_inconsistent_halves_are_refused():
    text, _public = openssh_private()
    data = bytearray(body(text))
    # the private section starts with two equal 4-byte check numbers: change the second
    section = data.index(b"ssh-ed25519", data.index(b"ssh-ed25519") + 1) - 4 - 8
    data[section + 4] ^= 0xFF
    with pytest.raises(ok.SshKeyError) as corrupt:
        ok.parse_private_key(armored(bytes(data)))
    assert str(corrupt.value) == "the private key's check bytes do not match (corrupt, or encrypted)"
    data = bytearray(body(text))
    data[-40] ^= 0x01  # inside the 64-byte secret's public half
    with pytest.raises(ok.SshKeyError) as inconsistent:
        ok.parse_private_key(armored(bytes(data)))
    assert str(inconsistent.value) == "the Ed25519 private key is inconsistent with its public key"


@pytest.mark.parametrize(
    "line, message",
    [
        ("", "not an OpenSSH public key line"),
        ("ssh-ed25519", "not an OpenSSH public key line"),
        ("ssh-rsa AAAA", "the key is of type 'ssh-rsa'"),
        ("ssh-ed25519 !!!!", "the public key is not valid base64"),
        (
            "ssh-ed25519 " + base64.b64encode(b"\0\0\0\x0bssh-ed25519\0\0\0\x10" + b"x" * 16).decode(),
            "an ssh-ed25519 public key holds 32 bytes, this one 16",
        ),
        ("ssh-ed25519 " + base64.b64encode(b"\0\0\0\x07ssh-rsa").decode(), "the key is of type 'ssh-rsa'"),
        (
            "ssh-ed25519 " + base64.b64encode(b"\0\0\0\x0bssh-ed25519\0\0\0\x20" + b"x" * 8).decode(),
            "the key is truncated",
        ),
    ],
)
def test_malformed_public_lines(line, message):
    with pytest.raises(ok.SshKeyError) as caught:
        ok.parse_public_key(line)
    assert message in str(caught.value)


def test_a_key_cut_off_before_its_key_count_is_an_ssh_key_error():
    data = ok.MAGIC + b"\0\0\0\x04none" + b"\0\0\0\x04none" + b"\0\0\0\0"
    text = "%s\n%s\n%s\n" % (ok.PRIVATE_BEGIN, base64.b64encode(data).decode(), ok.PRIVATE_END)
    with pytest.raises(ok.SshKeyError, match="truncated"):
        ok.parse_private_key(text)
