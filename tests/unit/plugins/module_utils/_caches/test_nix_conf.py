"""nix.conf parsing, validation and in-place edits; edited files are read back by the real Nix."""

import json
import os
import subprocess
from typing import Dict, Tuple

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._caches import nix_conf as nc

ORIGINAL = """# nix.conf of a Debian host
build-users-group = nixbld   # the default group
substituters = https://cache.nixos.org/
include /etc/nix/extra.conf

max-jobs = 4
substituters = https://old.example.org   # a later duplicate: Nix would use this one
"""
KEY = "cache.example.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="  # from the Nix manual


def nix_reads(text, tmp_path):
    """What the real Nix makes of a nix.conf (NIX_CONF_DIR pointing at it)."""
    (tmp_path / "nix.conf").write_text(text.replace("include /etc/nix/extra.conf", "include %s/extra.conf" % tmp_path))
    (tmp_path / "extra.conf").write_text("connect-timeout = 7\n")
    env = dict(
        os.environ, NIX_CONF_DIR=str(tmp_path), NIX_CONFIG="experimental-features = nix-command", NIX_USER_CONF_FILES=""
    )
    out = subprocess.run(["nix", "show-config", "--json"], env=env, stdout=subprocess.PIPE, check=True).stdout
    return nc.parse_show_config(json.loads(out))


@pytest.mark.host_tools
def test_edit_keeps_every_other_line(tmp_path):
    change = nc.edit(ORIGINAL, {"substituters": ("http://127.0.0.1:8081",), "trusted-public-keys": (KEY,)})
    assert change.text.splitlines() == [
        "# nix.conf of a Debian host",
        "build-users-group = nixbld   # the default group",
        "substituters = http://127.0.0.1:8081",
        "include /etc/nix/extra.conf",
        "",
        "max-jobs = 4",
        "",
        nc.APPENDED_HEADER,
        "trusted-public-keys = %s" % KEY,
    ]
    assert change.changes == [
        "substituters: https://cache.nixos.org/ -> http://127.0.0.1:8081",
        "dropped a later line for substituters (it would override the managed one)",
        "trusted-public-keys: (unset) -> %s" % KEY,
    ]
    running = nix_reads(change.text, tmp_path)
    assert running["substituters"] == ("http://127.0.0.1:8081",)
    assert running["trusted-public-keys"] == (KEY,)
    assert running["max-jobs"] == ("4",) and running["connect-timeout"] == ("7",)  # untouched, include kept


def test_second_edit_changes_nothing_and_keeps_formatting():
    desired: Dict[str, Tuple[str, ...]] = {"substituters": ("http://127.0.0.1:8081",), "max-jobs": ("4",)}
    first = nc.edit(ORIGINAL, desired)
    second = nc.edit(first.text, desired)
    assert not second.changed and second.text == first.text
    spaced = "max-jobs    =    4\n"
    assert nc.edit(spaced, {"max-jobs": ("4",)}).text == spaced


def test_remove():
    change = nc.edit(ORIGINAL, {}, remove=["substituters"])
    assert "substituters" not in change.text and "max-jobs = 4" in change.text
    assert change.changes == ["removed substituters", "removed substituters"]


def test_malformed_file_names_the_line():
    with pytest.raises(nc.NixConfError, match=r"line 2 of /etc/nix/nix.conf is not 'name = value'"):
        nc.parse("max-jobs = 4\nsubstituters https://x\n", "/etc/nix/nix.conf")
    with pytest.raises(nc.NixConfError, match="takes one path"):
        nc.parse("include\n")


@pytest.mark.parametrize(
    "name,words,message",
    [
        ("substituters", ["htp://cache"], "not a store URL Nix understands"),
        ("substituters", ["https://"], "has no host"),
        ("extra-substituters", ["file://relative/path"], "absolute path"),
        ("trusted-public-keys", ["no-colon"], "not 'name:base64-key'"),
        ("trusted-public-keys", ["k:not*base64"], "not valid base64"),
        ("trusted-public-keys", ["k:AAAA"], "3 bytes, not a 32-byte"),
        ("trusted-users", ["root;rm"], "not a user or @group"),
        ("netrc-file", ["etc/netrc"], "not an absolute path"),
        ("Bad_Name", ["x"], "not a nix.conf setting name"),
        ("substituters\n", ["https://cache.example.org"], "not a nix.conf setting name"),
        ("max-jobs", ["4#"], "cannot be written"),
    ],
)
def test_validation(name, words, message):
    with pytest.raises(nc.NixConfError, match=message):
        nc.validate(name, words)


def test_valid_values_pass():
    nc.validate(
        "substituters",
        [
            "https://cache.nixos.org/",
            "s3://bucket?region=eu-west-1",
            "file:///srv/cache",
            "ssh-ng://builder",
            "/var/cache/nix",
            "daemon",
        ],
    )
    nc.validate("trusted-public-keys", [KEY])
    nc.validate("trusted-users", ["root", "@wheel", "deploy.bot"])


def test_running_config_check():
    running = {
        "substituters": ("https://cache.nixos.org/", "http://c"),
        "trusted-public-keys": (KEY,),
        "require-sigs": ("true",),
    }
    assert nc.missing_from(running, {"extra-substituters": ("http://c",), "require-sigs": ("true",)}) == []
    assert nc.missing_from(running, {"substituters": ("http://d",), "require-sigs": ("false",)}) == [
        "substituters lacks http://d",
        "require-sigs is true, not false",
    ]
