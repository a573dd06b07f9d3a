"""Verify (testinfra over plain ssh): nix.conf gained the cache and key, kept the fleet's own lines,
and the host's Nix reads them."""

import json

KEY = "molecule-1:WMgT6aHHZ9bkjgHhxJcaRj5w1NgeQ6Kq7l4YHNuaYZU="


def test_nix_conf_lines(host):
    text = host.file("/etc/nix/nix.conf").content_string
    assert text.startswith("# nix.conf of a nixfleet test-fleet host")  # the fleet's own lines are kept
    assert "sandbox = false\n" in text
    assert "extra-substituters = http://127.0.40.99:8081\n" in text
    assert "trusted-public-keys = %s\n" % KEY in text


def test_nix_reads_them(host):
    out = host.check_output("nix --extra-experimental-features nix-command show-config --json")
    seen = json.loads(out)
    assert "http://127.0.40.99:8081" in seen["substituters"]["value"]
    assert seen["trusted-public-keys"]["value"] == [KEY]
    assert seen["trusted-users"]["value"] == ["root", "@wheel"]
