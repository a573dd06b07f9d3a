"""plugins/action/nix_conf.py: editing /etc/nix/nix.conf on a host (check mode, --diff, backup,
the daemon restart, netrc), and on NixOS only checking the running configuration."""

import json
import subprocess

import pytest

from action_harness import ActionShell, run_action, said

MARK = "nixfleet-target-file"
DMARK = "nixfleet-nix-daemon"
KEY = "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="
CACHE = "http://127.0.0.1:5000"
BEFORE = "# mine\nsubstituters = https://cache.nixos.org\nsandbox = true\n"


def conf(content=BEFORE, mode="644"):
    return said(stdout="%s file 0 0 %s\n%s" % (MARK, mode, content))


def test_edit_writes_the_file_and_restarts_the_daemon_in_order():
    shell = ActionShell(
        {
            "file probe": conf(),
            "nix-daemon status": said(stdout="%s systemd 41 nix-daemon.service\n" % DMARK),
            "nix-daemon restart": said(stdout="%s systemd 42 nix-daemon.service\n" % DMARK),
        },
        {"mktemp": said()},
    )
    result = run_action("nix_conf", {"substituters": [CACHE], "trusted_public_keys": [KEY]}, shell)
    assert not result.get("failed"), result
    assert shell.performed == [
        ("file probe", True),
        ("mktemp", True),
        ("nix-daemon status", True),
        ("nix-daemon restart", True),
    ]
    assert shell.stdins == [
        "# mine\nsubstituters = %s\nsandbox = true\n\n# Managed by nixfleet.nixos.nix_conf\n"
        "trusted-public-keys = %s\n" % (CACHE, KEY)
    ]
    assert "chmod 0644" in shell.texts[0]  # the file keeps its mode
    assert result["changes"] == [
        "substituters: https://cache.nixos.org -> %s" % CACHE,
        "trusted-public-keys: (unset) -> %s" % KEY,
    ]
    assert result["changed"] is True and result["daemon_restarted"] is True and result["daemon_pid"] == 42


def test_second_run_is_unchanged_and_touches_nothing():
    text = "substituters = %s\n" % CACHE
    shell = ActionShell({"file probe": conf(text)})
    result = run_action("nix_conf", {"substituters": [CACHE]}, shell)
    assert result["changed"] is False and result["changes"] == []
    assert shell.names() == ["file probe"]


def test_check_mode_with_diff_shows_the_edit_and_writes_nothing():
    shell = ActionShell({"file probe": conf()})
    result = run_action("nix_conf", {"settings": {"sandbox": False}}, shell, check_mode=True, diff=True)
    assert result["changed"] is True and shell.names() == ["file probe"]
    assert result["diff"]["before"] == BEFORE
    assert result["diff"]["after"] == "# mine\nsubstituters = https://cache.nixos.org\nsandbox = false\n"


def test_backup_before_writing_and_no_restart_when_none_runs():
    shell = ActionShell(
        {"file probe": conf(), "nix-daemon status": said(stdout="%s none\n" % DMARK)},
        {"cp -p": said(stdout="/etc/nix/nix.conf.2026-01-01@00:00:00~\n"), "mktemp": said()},
    )
    result = run_action("nix_conf", {"remove": ["sandbox"], "backup": True}, shell)
    assert shell.names() == ["file probe", "cp -p", "mktemp", "nix-daemon status"]
    assert result["backup_file"] == "/etc/nix/nix.conf.2026-01-01@00:00:00~"
    assert result["daemon_restarted"] is False and result["changes"] == ["removed sandbox"]
    assert shell.stdins[1] == "# mine\nsubstituters = https://cache.nixos.org\n"


@pytest.mark.parametrize(
    "args, message",
    [
        ({"substituters": ["ftp://cache"]}, "is not a store URL Nix understands"),
        ({"trusted_public_keys": ["cache:bm90IDMyIGJ5dGVz"]}, "not a 32-byte Ed25519 public key"),
        ({"settings": {"bad name!": "x"}}, "is not a nix.conf setting name"),
        ({"substituters": [CACHE], "settings": {"substituters": CACHE}}, "is given twice"),
        ({"netrc_content": "machine x"}, "netrc_content needs netrc_file"),
    ],
)
def test_bad_settings_fail_before_the_host_is_read(args, message):
    shell = ActionShell()
    result = run_action("nix_conf", args, shell)
    assert result["failed"] is True and message in result["msg"]
    assert shell.performed == []


def test_a_directory_is_refused_naming_the_host():
    shell = ActionShell({"file probe": said(stdout="%s other\n" % MARK)})
    result = run_action("nix_conf", {"substituters": [CACHE]}, shell)
    assert result["failed"] is True and "is not a regular file" in result["msg"] and "web" in result["msg"]
    assert shell.names() == ["file probe"]


def test_netrc_content_is_written_sensitive_and_never_shown():
    password = "hunter2-very-secret"
    shell = ActionShell(
        {
            "file probe": [conf("netrc-file = /etc/nix/netrc\n"), said(stdout="%s absent\n" % MARK)],
            "nix-daemon status": said(stdout="%s none\n" % DMARK),
        },
        {"mktemp": said()},
    )
    result = run_action(
        "nix_conf",
        {"netrc_file": "/etc/nix/netrc", "netrc_content": "machine cache login ci password %s" % password},
        shell,
        diff=True,
    )
    assert result["changed"] is True
    assert result["changes"] == ["netrc-file /etc/nix/netrc: credentials written (not shown)"]
    assert shell.sensitive == ["mktemp"] and "chmod 0600" in shell.texts[0]
    assert password not in json.dumps(result) and password not in "".join(shell.texts)
    assert shell.stdins == ["machine cache login ci password %s\n" % password]


def test_a_netrc_file_that_is_not_there_is_an_error():
    shell = ActionShell({"file probe": conf("")}, {"test -r": said(rc=1)})
    result = run_action("nix_conf", {"netrc_file": "/etc/nix/netrc"}, shell)
    assert result["failed"] is True
    assert "netrc-file /etc/nix/netrc is missing or unreadable on the host; nothing was changed" in result["msg"]
    assert shell.names() == ["file probe", "test -r"]


@pytest.mark.host_tools
def test_on_nixos_the_running_configuration_is_checked_not_edited():
    """The answer is this machine's real ``nix show-config --json``."""
    running = subprocess.run(
        ["nix", "--extra-experimental-features", "nix-command", "show-config", "--json"],
        check=True,
        stdout=subprocess.PIPE,
    ).stdout.decode()
    link = said(stdout="%s link /nix/store/%s-nix.conf\n" % (MARK, "a" * 32))
    shell = ActionShell({"file probe": link}, {"show-config": said(stdout=running)})
    have = json.loads(running)["sandbox"]["value"]
    same = run_action("nix_conf", {"settings": {"sandbox": have}}, shell)
    assert not same.get("failed"), same
    assert same["nixos"] is True and same["changed"] is False and same["problems"] == []
    assert shell.performed == [("file probe", True), ("show-config", False)]
    shell = ActionShell({"file probe": link}, {"show-config": said(stdout=running)})
    lacking = run_action("nix_conf", {"trusted_public_keys": [KEY.replace("cache.nixos.org-1", "ours-1")]}, shell)
    assert lacking["failed"] is True and lacking["problems"] == [
        "trusted-public-keys lacks ours-1:%s" % KEY.split(":")[1]
    ]
    assert "is a link into the Nix store (NixOS)" in lacking["msg"] and lacking["msg"].startswith("web: ")
    assert shell.names() == ["file probe", "show-config"]  # nothing written
