"""plugins/action/age_recipient.py: a host's age recipient from its ssh host key or its age key
file, checked against the real age: a file encrypted to the recipient the action reports opens with
the host's key."""

import subprocess

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets import age_keys

from action_harness import ActionShell, run_action, said

MARK = "nixfleet-target-file"


def file_answer(content, mode="600"):
    return said(stdout="%s file 0 0 %s\n%s" % (MARK, mode, content))


def run(*words, stdin=None):
    return subprocess.run(list(words), input=stdin, check=True, stdout=subprocess.PIPE).stdout


def opens_with(recipient, identity_file):
    """A file age encrypts to ``recipient`` opens with the identity in ``identity_file``."""
    secret = b"only the host reads this\n"
    sealed = run("age", "-r", recipient, stdin=secret)
    return run("age", "-d", "-i", str(identity_file), stdin=sealed) == secret


@pytest.mark.host_tools
def test_ssh_host_key_recipient_opens_with_the_hosts_age_identity(tmp_path):
    """sops-nix decrypts with the X25519 identity made from the ssh host key (ssh-to-age's
    conversion, age_keys.ssh_to_age_identity, which test_age_keys checks with the real age; its curve and
    Bech32 steps are checked against external vectors in test_curve25519 and test_bech32):
    age itself confirms that the recipient the action reports belongs to it."""
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "root@web", "-f", str(tmp_path / "host"))
    shell = ActionShell({"file probe": file_answer((tmp_path / "host.pub").read_text(), "644")})
    result = run_action("age_recipient", {}, shell)
    assert not result.get("failed"), result
    assert result["path"] == "/etc/ssh/ssh_host_ed25519_key" and result["source"] == "ssh_host_key"
    assert shell.performed == [("file probe", True)]
    assert result["recipients"] == [result["recipient"]]
    identity = tmp_path / "identity.txt"
    identity.write_text(age_keys.ssh_to_age_identity((tmp_path / "host").read_text()).encode() + "\n")
    assert opens_with(result["recipient"], identity)


@pytest.mark.host_tools
def test_key_file_recipients_are_age_keygens(tmp_path):
    keys = tmp_path / "keys.txt"
    run("age-keygen", "-o", str(tmp_path / "a"))
    run("age-keygen", "-o", str(tmp_path / "b"))
    keys.write_text((tmp_path / "a").read_text() + (tmp_path / "b").read_text())
    seen = []

    def answer(operation):
        seen.append(operation.sensitive)  # the key file is read as a secret
        return file_answer(keys.read_text())

    shell = ActionShell({"file probe": answer})
    result = run_action("age_recipient", {"source": "key_file", "path": "/run/keys/age.txt"}, shell)
    assert not result.get("failed"), result
    assert seen == [True]
    assert result["recipients"] == run("age-keygen", "-y", str(keys)).decode().split()
    assert result["recipient"] == result["recipients"][0] and result["path"] == "/run/keys/age.txt"
    assert "AGE-SECRET-KEY-1" not in str(result)


def test_a_missing_key_is_an_error_naming_the_host_and_the_file():
    shell = ActionShell({"file probe": said(stdout="%s absent\n" % MARK)})
    result = run_action("age_recipient", {"source": "key_file"}, shell)
    assert result["failed"] is True
    assert "/var/lib/sops-nix/key.txt does not exist" in result["msg"] and "web" in result["msg"]


def test_a_directory_is_not_a_key():
    shell = ActionShell({"file probe": said(stdout="%s other\n" % MARK)})
    result = run_action("age_recipient", {}, shell)
    assert result["failed"] is True and "/etc/ssh/ssh_host_ed25519_key.pub is not a regular file" in result["msg"]


def test_an_rsa_host_key_is_refused_with_the_reason():
    shell = ActionShell({"file probe": file_answer("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC root@web\n", "644")})
    result = run_action("age_recipient", {}, shell)
    assert result["failed"] is True and "web" in result["msg"]


def test_a_relative_path_is_refused_before_the_host_is_reached():
    shell = ActionShell()
    result = run_action("age_recipient", {"path": "keys/age.txt"}, shell)
    assert result["failed"] is True and "path" in result["msg"]
    assert shell.performed == []
