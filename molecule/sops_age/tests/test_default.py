"""Verify (testinfra, over plain ssh: node02 has no Python): each host holds its own key as sops-nix wants it."""

import os
import subprocess


def controller_key(name):
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "repo", "keys", "%s.txt" % name)
    with open(path) as handle:
        return path, handle.read()


def test_key_file_is_root_only_and_holds_the_hosts_key(host):
    name = host.backend.get_hostname()
    key = host.file("/var/lib/sops-nix/key.txt")
    assert key.is_file and key.user == "root" and key.group == "root" and key.mode == 0o600
    assert host.file("/var/lib/sops-nix").mode == 0o700
    expected = controller_key(name)[1]
    assert key.content_string.strip() == expected.strip()


def test_recipient_is_what_age_keygen_says(host):
    name = host.backend.get_hostname()
    path = controller_key(name)[0]
    recipient = subprocess.run(
        ["age-keygen", "-y", path], stdout=subprocess.PIPE, universal_newlines=True, check=True
    ).stdout.strip()
    assert ("public key: %s" % recipient) in host.file("/var/lib/sops-nix/key.txt").content_string
