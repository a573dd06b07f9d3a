"""plugin_utils/_secrets/host_age_keys.py: a host's age recipients and identities, read through a shell (the
real sh here, LocalShell) from keys made by the real ssh-keygen and age-keygen."""

import subprocess

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._secrets import host_age_keys as hk

from local_shell import LocalShell

pytestmark = pytest.mark.host_tools


def run(*words):
    return subprocess.run(list(words), check=True, stdout=subprocess.PIPE).stdout.decode()


def test_default_paths():
    assert hk.default_path(hk.SSH_HOST_KEY, None) == "/etc/ssh/ssh_host_ed25519_key"
    assert hk.default_path(hk.KEY_FILE, None) == "/var/lib/sops-nix/key.txt"
    assert hk.default_path(hk.KEY_FILE, "/run/k") == "/run/k"


def test_key_file_recipients_and_identities_are_age_keygens(tmp_path):
    run("age-keygen", "-o", str(tmp_path / "a"))
    run("age-keygen", "-o", str(tmp_path / "b"))
    both = tmp_path / "keys.txt"
    both.write_text((tmp_path / "a").read_text() + (tmp_path / "b").read_text())
    shell = LocalShell()
    expected = run("age-keygen", "-y", str(both)).split()
    assert hk.recipients(shell, hk.KEY_FILE, str(both)) == expected
    identities = hk.identities(shell, hk.KEY_FILE, str(both))
    assert [i.recipient for i in identities] == expected
    secrets = [line for line in both.read_text().splitlines() if line.startswith("AGE-SECRET-KEY-")]
    assert [i.encode() for i in identities] == secrets
    assert "AGE-SECRET-KEY" not in repr(identities)


def test_ssh_host_key_recipient_is_its_identitys(tmp_path):
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "root@web", "-f", str(tmp_path / "host"))
    shell = LocalShell()
    recipients = hk.recipients(shell, hk.SSH_HOST_KEY, str(tmp_path / "host"))
    identity = hk.identities(shell, hk.SSH_HOST_KEY, str(tmp_path / "host"))
    assert len(recipients) == 1 and [i.recipient for i in identity] == recipients
    (tmp_path / "id.txt").write_text(identity[0].encode() + "\n")
    assert run("age-keygen", "-y", str(tmp_path / "id.txt")).split() == recipients  # age agrees


def test_bad_keys_are_errors_naming_the_host(tmp_path):
    shell = LocalShell()
    run("ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", str(tmp_path / "ecdsa"))
    with pytest.raises(NixError) as rsa:
        hk.recipients(shell, hk.SSH_HOST_KEY, str(tmp_path / "ecdsa"))
    assert str(rsa.value).startswith("here: ")
    (tmp_path / "junk.txt").write_text("not a key\n")
    with pytest.raises(NixError) as junk:
        hk.identities(shell, hk.KEY_FILE, str(tmp_path / "junk.txt"))
    assert str(junk.value).startswith("here: ") and "not a key" not in str(junk.value)
    with pytest.raises(NixError) as missing:
        hk.recipients(shell, hk.SSH_HOST_KEY, str(tmp_path / "none"))
    assert str(missing.value) == "here: %s.pub does not exist" % (tmp_path / "none")
