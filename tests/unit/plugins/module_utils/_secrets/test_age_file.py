"""Opening age files (module_utils._secrets.age_file) made by the real age."""

import subprocess

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets import age_file, age_keys


def run(*argv, stdin=None):
    return subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True).stdout


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
