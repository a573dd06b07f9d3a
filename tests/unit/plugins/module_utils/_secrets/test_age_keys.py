"""ssh-to-age and age identities, proven with external vectors and the real age / ssh-keygen tools.

No expected value here comes from our own code: curve and Bech32 vectors are the RFCs' and
BIP 173's; everything else is checked against what ``age-keygen``, ``age`` and ``ssh-keygen`` do.
"""

import subprocess
from pathlib import Path

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets import age_file, age_keys, bech32
from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets.curve25519 import (
    CurveError,
    ed25519_to_x25519_public,
    x25519_public,
    x25519_shared,
)


def run(*argv, stdin=None):
    return subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True).stdout


def ssh_key(directory: Path, name="host"):
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(directory / name))
    return (directory / name).read_text(), (directory / (name + ".pub")).read_text()


def test_x25519_rfc7748_vectors():
    # RFC 7748 section 5.2, first vector, and section 6.1 (Alice's key pair).
    scalar = bytes.fromhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4")
    u = bytes.fromhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")
    assert (x25519_shared(scalar, u) or b"").hex() == "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"
    alice = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    assert (x25519_public(alice) or b"").hex() == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    # Section 6.1: Alice's secret with Bob's public key gives their shared secret.
    bob = bytes.fromhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    assert (
        x25519_shared(alice, bob) or b""
    ).hex() == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
    # u = 0 is a point of small order: the all-zero result age must reject.
    assert x25519_shared(alice, bytes(32)) is None
    with pytest.raises(CurveError, match="32 bytes"):
        x25519_public(alice[:31])


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


@pytest.mark.host_tools
def test_identity_recipient_matches_age_keygen(tmp_path):
    keyfile = tmp_path / "key.txt"
    run("age-keygen", "-o", str(keyfile))
    expected = run("age-keygen", "-y", str(keyfile)).decode().split()
    assert age_keys.recipients_of(keyfile.read_text()) == expected


@pytest.mark.host_tools
def test_several_identities_and_comments(tmp_path):
    texts = []
    for name in ("a", "b"):
        run("age-keygen", "-o", str(tmp_path / name))
        texts.append((tmp_path / name).read_text())
    both = tmp_path / "both"
    both.write_text("\n# two keys\n".join(texts) + "\n\n")
    assert age_keys.recipients_of(both.read_text()) == run("age-keygen", "-y", str(both)).decode().split()


@pytest.mark.host_tools
def test_ssh_to_age_proven_with_real_age(tmp_path):
    for attempt in range(3):  # several fresh keys
        private, public = ssh_key(tmp_path, "host%d" % attempt)
        recipient = age_keys.ssh_to_age_recipient(public)
        identity = age_keys.ssh_to_age_identity(private)
        ident_file = tmp_path / ("id%d" % attempt)
        ident_file.write_text(identity.encode() + "\n")
        assert run("age-keygen", "-y", str(ident_file)).decode().strip() == recipient
        secret = b"sops data key %d" % attempt
        sealed = run("age", "-r", recipient, stdin=secret)
        assert run("age", "-d", "-i", str(ident_file), stdin=sealed) == secret
        # age itself accepts the ssh key as a recipient: our identity opens what it sealed.
        sealed_by_ssh = run("age", "-R", str(tmp_path / ("host%d.pub" % attempt)), stdin=secret)
        parsed = age_file.parse(sealed_by_ssh)
        assert [s.kind for s in parsed.stanzas] == ["ssh-ed25519"]


@pytest.mark.host_tools
def test_unwrap_files_made_by_age(tmp_path):
    keyfile = tmp_path / "key.txt"
    run("age-keygen", "-o", str(keyfile))
    other = tmp_path / "other.txt"
    run("age-keygen", "-o", str(other))
    identities = age_keys.parse_identity_file(keyfile.read_text())
    recipient = identities[0].recipient
    other_recipient = age_keys.recipients_of(other.read_text())[0]
    for size in (32, 64 * 1024, 64 * 1024 + 1, 200000):  # one chunk, exact chunk, several chunks
        plain = bytes(range(256)) * (size // 256) + bytes(size % 256)
        armored = run("age", "-a", "-r", other_recipient, "-r", recipient, stdin=plain).decode()
        assert age_file.unwrap(age_file.dearmor(armored), identities) == plain
    armored = run("age", "-a", "-r", other_recipient, stdin=b"x" * 32).decode()
    with pytest.raises(age_file.NoMatchingIdentity):
        age_file.unwrap(age_file.dearmor(armored), identities)


@pytest.mark.host_tools
def test_tampered_age_file_is_refused(tmp_path):
    keyfile = tmp_path / "key.txt"
    run("age-keygen", "-o", str(keyfile))
    identities = age_keys.parse_identity_file(keyfile.read_text())
    sealed = bytearray(run("age", "-r", identities[0].recipient, stdin=b"k" * 32))
    sealed[-1] ^= 1  # payload
    with pytest.raises(age_file.AgeFileError):
        age_file.unwrap(bytes(sealed), identities)


@pytest.mark.host_tools
def test_malformed_keys_name_the_problem_not_the_key(tmp_path):
    keyfile = tmp_path / "key.txt"
    run("age-keygen", "-o", str(keyfile))
    key = [line for line in keyfile.read_text().splitlines() if line.startswith("AGE-")][0]
    typo = key[:-3] + ("Q" if key[-3] != "Q" else "P") + key[-2:]
    cases = {
        typo: "checksum",
        key[:40]: "Bech32",
        "age1qqqq": "AGE-SECRET-KEY-1",
        "# only a comment\n": "no age identity",
        key + "\ngarbage": "line 2",
    }
    for text, expected in cases.items():
        with pytest.raises(age_keys.AgeKeyError) as info:
            age_keys.recipients_of(text)
        assert expected in str(info.value)
        assert key[20:] not in str(info.value)


@pytest.mark.host_tools
def test_ssh_keys_that_cannot_convert(tmp_path):
    run("ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", str(tmp_path / "ecdsa"))
    with pytest.raises(age_keys.AgeKeyError, match="ecdsa"):
        age_keys.ssh_to_age_recipient((tmp_path / "ecdsa.pub").read_text())
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", str(tmp_path / "locked"))
    with pytest.raises(age_keys.AgeKeyError, match="passphrase"):
        age_keys.ssh_to_age_identity((tmp_path / "locked").read_text())
    with pytest.raises(age_keys.AgeKeyError, match="OpenSSH public key"):
        age_keys.ssh_to_age_recipient("garbage")


def test_points_off_the_curve_are_refused():
    # y = 2 is not the y coordinate of any Ed25519 point (x^2 would be a non-square).
    with pytest.raises(CurveError):
        ed25519_to_x25519_public((2).to_bytes(32, "little"))
    with pytest.raises(CurveError):
        ed25519_to_x25519_public((1).to_bytes(32, "little"))
