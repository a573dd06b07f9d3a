"""nixfleet.nixos.nix_conf (role substituters) on the fleet: edit in place keeping other lines,
idempotence, check mode and diff, the NixOS store-link case, bad input, netrc, nix-daemon restart."""

import base64
import hashlib
import json
import os

import pytest
from fleetctl import FixtureFlake, inside
from fleet_fixtures import own_fleet
from playbook_helpers import leaked_lines, run_playbook_text, run_task, write_fleet_inventory

pytestmark = pytest.mark.integration

KEY = "cache.example.org-1:" + base64.b64encode(hashlib.sha256(b"a test public key").digest()).decode()
OTHER_KEY = "other.example.org-1:" + base64.b64encode(hashlib.sha256(b"another key").digest()).decode()
CACHE = "http://127.0.62.99:8081"
CONF = "/etc/nix/nix.conf"


# node01: Nix beside Debian; node02: the same without Python; node03: NixOS-style (store link).
fleet = own_fleet("nixconf", 3, ["node02"], "127.0.62.11")


@pytest.fixture(scope="module")
def inventory(fleet, tmp_path_factory):
    flake = FixtureFlake.create(tmp_path_factory.mktemp("nixconf-flake") / "flake", fleet, {})
    return write_fleet_inventory(tmp_path_factory.mktemp("nixconf-inventory"), fleet, flake)


def conf(fleet, name):
    return inside(fleet[name], "cat %s" % CONF)


def nix_sees(fleet, name):
    """The running configuration, as the host's own Nix reads it."""
    out = inside(fleet[name], "env -u NIX_CONFIG nix --extra-experimental-features nix-command show-config --json")
    return {k: v["value"] for k, v in json.loads(out).items()}


def task(inventory, hosts, *cli, **args):
    return run_task(inventory, hosts, "nixfleet.nixos.nix_conf", args, *cli)


def test_edit_keeps_other_lines_and_nix_reads_it(fleet, inventory):
    before = conf(fleet, "node01")
    run = task(
        inventory,
        "node01,node02",
        extra_substituters=[CACHE],
        trusted_public_keys=[KEY],
        trusted_users=["root", "@wheel"],
    )
    assert run.rc == 0, run.data
    for name in ("node01", "node02"):
        result = run.results("task under test")[name]
        assert result["changed"] and not result["nixos"]
        after = conf(fleet, name)
        kept = before.splitlines()
        assert after.splitlines()[: len(kept)] == kept  # every original line, in place
        assert after.splitlines()[len(kept) :] == [
            "",
            "# Managed by nixfleet.nixos.nix_conf",
            "extra-substituters = %s" % CACHE,
            "trusted-public-keys = %s" % KEY,
            "trusted-users = root @wheel",
        ]
        seen = nix_sees(fleet, name)
        assert CACHE in seen["substituters"] and seen["trusted-public-keys"] == [KEY]
        assert seen["trusted-users"] == ["root", "@wheel"] and seen["sandbox"] is False
    again = task(
        inventory,
        "node01,node02",
        extra_substituters=[CACHE],
        trusted_public_keys=[KEY],
        trusted_users=["root", "@wheel"],
    )
    assert again.rc == 0 and not any(r["changed"] for r in again.results("task under test").values())


def test_check_mode_and_diff_change_nothing(fleet, inventory):
    before = conf(fleet, "node01")
    run = task(inventory, "node01", "--check", "--diff", trusted_public_keys=[OTHER_KEY])
    result = run.results("task under test")["node01"]
    assert run.rc == 0 and result["changed"]
    assert result["changes"] == ["trusted-public-keys: %s -> %s" % (KEY, OTHER_KEY)]
    assert result["diff"]["before"] == before
    assert result["diff"]["after"] == before.replace(KEY, OTHER_KEY)
    assert conf(fleet, "node01") == before


def test_nixos_link_is_verified_not_written(fleet, inventory):
    host = fleet["node03"]
    inside(
        host,
        "printf 'substituters = %s\\ntrusted-public-keys = %s\\nsandbox = false\\n' > /tmp/nix.conf && "
        "p=$(nix-store --add /tmp/nix.conf) && ln -sfn $p %s" % (CACHE, KEY, CONF),
    )
    link = inside(host, "readlink %s" % CONF).strip()
    assert link.startswith("/nix/store/")
    ok = task(inventory, "node03", extra_substituters=[CACHE], trusted_public_keys=[KEY])
    result = ok.results("task under test")["node03"]
    assert ok.rc == 0 and result["nixos"] and not result["changed"] and result["problems"] == []
    bad = task(inventory, "node03", trusted_public_keys=[OTHER_KEY])
    result = bad.results("task under test")["node03"]
    assert bad.rc != 0 and result["failed"]
    assert "Set nix.settings in the flake" in result["msg"]
    assert "trusted-public-keys lacks %s" % OTHER_KEY in result["msg"]
    assert inside(host, "readlink %s" % CONF).strip() == link


@pytest.mark.parametrize(
    "args,message",
    [
        ({"trusted_public_keys": ["cache.example.org-1:not*base64!"]}, "not valid base64"),
        ({"trusted_public_keys": ["cache.example.org-1:" + base64.b64encode(b"x" * 16).decode()]}, "16 bytes"),
        ({"extra_substituters": ["htps://cache.example.org"]}, "not a store URL Nix understands"),
        ({"substituters": ["https://"]}, "has no host"),
        ({"netrc_file": "/etc/nix/missing-netrc"}, "missing or unreadable"),
    ],
)
def test_bad_input_fails_clearly_and_changes_nothing(fleet, inventory, args, message):
    before = conf(fleet, "node02")
    run = task(inventory, "node02", **args)
    result = run.results("task under test")["node02"]
    assert run.rc != 0 and message in result["msg"] and "nothing was changed" in result["msg"]
    assert conf(fleet, "node02") == before


def test_malformed_nix_conf_is_named_and_kept(fleet, inventory):
    host = fleet["node02"]
    original = conf(fleet, "node02")
    inside(host, "printf 'this is not a setting\\n' >> %s" % CONF)
    broken = conf(fleet, "node02")
    run = task(inventory, "node02", extra_substituters=[CACHE])
    msg = run.results("task under test")["node02"]["msg"]
    assert run.rc != 0 and "line %d of %s on node02 is not 'name = value'" % (len(broken.splitlines()), CONF) in msg
    assert conf(fleet, "node02") == broken
    inside(host, "cat > %s <<'EOF'\n%sEOF" % (CONF, original))


def test_netrc_is_written_private_and_never_shown(fleet, inventory):
    secret = "s3cr3t-%s" % os.urandom(6).hex()
    variables = {
        "substituters_netrc_file": "/etc/nix/netrc",
        "substituters_netrc_content": "machine 127.0.62.99 login ci password %s" % secret,
        "substituters_extra_urls": [CACHE],
    }
    playbook = "substituters-test.yml"
    path = inventory.parent / playbook
    path.write_text("- hosts: node01,node02\n  gather_facts: false\n  roles: [nixfleet.nixos.substituters]\n")
    rc, text = run_playbook_text(inventory, str(path), "-vvv", "--diff", extra_vars=variables)
    assert rc == 0, text
    assert leaked_lines(text, [secret]) == []
    for name in ("node01", "node02"):
        assert inside(fleet[name], "stat -c '%a %u' /etc/nix/netrc; cat /etc/nix/netrc").split("\n")[:2] == [
            "600 0",
            "machine 127.0.62.99 login ci password %s" % secret,
        ]
        assert nix_sees(fleet, name)["netrc-file"] == "/etc/nix/netrc"
    rc, text = run_playbook_text(inventory, str(path), "-vvv", extra_vars=variables)
    assert rc == 0 and "changed=0" in text and leaked_lines(text, [secret]) == []


def daemon_pid(host):
    out = inside(
        host, 'for d in /proc/[0-9]*; do [ "$(cat $d/comm 2>/dev/null)" = nix-daemon ] && echo ${d#/proc/}; done; true'
    ).split()
    return sorted(int(p) for p in out)


def test_daemon_restarted_only_on_change(fleet, inventory):
    host = fleet["node01"]
    inside(host, "setsid nix-daemon </dev/null >/dev/null 2>&1 & sleep 0.5")
    [old] = daemon_pid(host)
    same = task(inventory, "node01", extra_substituters=[CACHE])
    assert same.rc == 0 and not same.results("task under test")["node01"]["daemon_restarted"]
    assert daemon_pid(host) == [old]
    changed = task(inventory, "node01", settings={"connect-timeout": 9})
    result = changed.results("task under test")["node01"]
    assert changed.rc == 0 and result["daemon_restarted"]
    new = daemon_pid(host)
    assert new == [result["daemon_pid"]] and old not in new
    assert inside(host, "NIX_REMOTE=daemon nix-store --version").startswith("nix-store (Nix)")
