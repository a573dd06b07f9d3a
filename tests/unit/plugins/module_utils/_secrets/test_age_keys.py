"""ssh-to-age and age identities, (module_utils._secrets.age_keys), proven with the real age / ssh-keygen tools.

No expected value here comes from our own code: everything is checked against what ``age-keygen``,
``age`` and ``ssh-keygen`` do (the curve's and Bech32's vectors are in test_curve25519 and test_bech32).
"""

import subprocess
from pathlib import Path

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets import age_file, age_keys


def run(*argv, stdin=None):
    return subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True).stdout


def ssh_key(directory: Path, name="host"):
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(directory / name))
    return (directory / name).read_text(), (directory / (name + ".pub")).read_text()


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
