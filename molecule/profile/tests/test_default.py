"""Verify: the ops-tools profile holds hello and greet, linked into /root/bin."""


def test_profile_and_links(host):
    assert host.check_output("readlink /nix/var/nix/profiles/ops-tools") == "ops-tools-1-link"
    assert host.check_output("/root/bin/hello") == "hello 1.0"
    assert host.check_output("/root/bin/greet") == "greet 2.1"
    assert host.file("/root/bin/hello").linked_to.startswith("/nix/store/")
