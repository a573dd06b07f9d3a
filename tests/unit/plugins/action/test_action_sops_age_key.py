"""plugins/action/sops_age_key.py: placing a host's age identity. A missing owner or group, a
different key without force and bad input are errors that name the host and change nothing; check
mode writes nothing; the key never appears in the result, its diff or a command line."""

import json
import subprocess

import pytest

from action_harness import ActionShell, run_action, said

KEY = "AGE-SECRET-KEY-1VR9P9SQNYUVN497N3W4XNENFLRA0N5MRXN4MF0AC5V0J9EHXCTXQQZQT73\n"
OTHER = "# another\nAGE-SECRET-KEY-1JKQ55AT5SKFLVHV8S4H7FUR9MZEFGFMR87J5VA7STZ7VQXATFU2SCQ693V\n"
# what `age-keygen -y` prints for KEY and OTHER (test_recipients_are_what_age_keygen_says runs it)
RECIPIENT = "age1ajt92zl8wktvguds82wxhzpfkq76xu8m4l926dkvugsdcrce29hq75f2w8"
OTHER_RECIPIENT = "age19ry0xnzxyhkw25ulnmgft5fzzdjpp9xms995yr7tjvv29xcjcvnqkmtgvy"
PATH = "/var/lib/sops-nix/key.txt"
MARK = "nixfleet-target-file"


def probe(uid="0", gid="0", file=None):
    """The owner probe's answer: the ids, then the file (absent, or ``(uid, gid, mode, content)``)."""
    head = "%s ids %s %s\n" % (MARK, uid, gid)
    if file is None:
        return said(stdout=head + "%s absent\n" % MARK)
    fuid, fgid, mode, content = file
    return said(stdout=head + "%s file %d %d %s\n%s" % (MARK, fuid, fgid, mode, content))


def secret_free(result, shell):
    """Neither key's secret (its Bech32 data) is in the result or any command line."""
    text = (json.dumps(result) + "".join(shell.texts)).upper()
    return all(secret.strip().rsplit("-", 1)[1] not in text for secret in (KEY, OTHER))


@pytest.mark.host_tools
@pytest.mark.parametrize("key, recipient", [(KEY, RECIPIENT), (OTHER, OTHER_RECIPIENT)])
def test_recipients_are_what_age_keygen_says(tmp_path, key, recipient):
    (tmp_path / "key.txt").write_text(key)
    out = subprocess.run(["age-keygen", "-y", str(tmp_path / "key.txt")], check=True, stdout=subprocess.PIPE)
    assert out.stdout.decode().split() == [recipient]


def test_a_new_key_is_written_as_root_through_stdin_and_sensitive():
    shell = ActionShell({"owner probe": probe()}, {"mktemp": said()})
    result = run_action("sops_age_key", {"content": KEY.strip()}, shell, diff=True)
    assert not result.get("failed"), result
    assert result["changed"] is True and result["action"] == "write" and result["recipients"] == [RECIPIENT]
    assert shell.performed == [("owner probe", True), ("mktemp", True)]
    assert shell.stdins == [KEY]  # the key with one trailing newline, on stdin only
    assert shell.sensitive == ["mktemp"]
    assert "chmod 0600" in shell.texts[0] and "chown root:root" in shell.texts[0]
    assert result["diff"]["before"] == ""
    assert result["diff"]["after"] == "path: %s\nowner: 0:0\nmode: 0600\nrecipients:\n  - %s\n" % (PATH, RECIPIENT)
    assert secret_free(result, shell)


def test_the_same_key_in_place_is_unchanged():
    shell = ActionShell({"owner probe": probe(file=(0, 0, "600", KEY))})
    result = run_action("sops_age_key", {"content": KEY}, shell)
    assert result["changed"] is False and result["action"] == "none"
    assert result["msg"] == "%s is in place" % PATH
    assert shell.names() == ["owner probe"]


@pytest.mark.parametrize("option", ["owner", "group"])
def test_a_missing_owner_or_group_is_an_error_naming_the_host_and_changes_nothing(option):
    ids = {"uid": "", "gid": "0"} if option == "owner" else {"uid": "0", "gid": ""}
    shell = ActionShell({"owner probe": probe(**ids)})
    result = run_action("sops_age_key", {"content": KEY, option: "sops"}, shell)
    assert result["failed"] is True
    assert "%s 'sops' does not exist on the host; nothing was changed" % option in result["msg"]
    assert "web" in result["msg"]
    assert shell.names() == ["owner probe"]
    assert secret_free(result, shell)


def test_check_mode_says_it_would_write_and_writes_nothing():
    shell = ActionShell({"owner probe": probe()})
    result = run_action("sops_age_key", {"content": KEY}, shell, check_mode=True, diff=True)
    assert result["changed"] is True and result["action"] == "write"
    assert shell.names() == ["owner probe"]
    assert secret_free(result, shell)


def test_a_different_key_without_force_is_refused_naming_its_recipient():
    shell = ActionShell({"owner probe": probe(file=(0, 0, "600", OTHER))})
    result = run_action("sops_age_key", {"content": KEY}, shell)
    assert result["failed"] is True
    assert "already holds a different age identity (recipients: %s)" % OTHER_RECIPIENT in result["msg"]
    assert "nothing was changed" in result["msg"] and "web" in result["msg"]
    assert shell.names() == ["owner probe"]
    assert secret_free(result, shell)


def test_force_replaces_a_different_key_and_the_diff_shows_recipients_only():
    shell = ActionShell({"owner probe": probe(file=(0, 0, "600", OTHER))}, {"mktemp": said()})
    result = run_action("sops_age_key", {"content": KEY, "force": True}, shell, diff=True)
    assert result["changed"] is True and shell.names() == ["owner probe", "mktemp"]
    assert "  - %s\n" % OTHER_RECIPIENT in result["diff"]["before"]
    assert "  - %s\n" % RECIPIENT in result["diff"]["after"]
    assert secret_free(result, shell)


def test_a_readable_key_is_refused_without_force_and_fixed_with_it():
    shell = ActionShell({"owner probe": probe(file=(0, 0, "644", KEY))})
    refused = run_action("sops_age_key", {"content": KEY}, shell)
    assert refused["failed"] is True and "others may have read the key" in refused["msg"]
    assert shell.names() == ["owner probe"]
    shell = ActionShell({"owner probe": probe(file=(0, 0, "644", KEY))}, {"chown": said()})
    fixed = run_action("sops_age_key", {"content": KEY, "force": True}, shell)
    assert fixed["changed"] is True and fixed["action"] == "fix-permissions"
    assert shell.performed == [("owner probe", True), ("chown", True)]
    assert shell.texts[0] == "chown root:root %s && chmod 0600 %s" % (PATH, PATH)


@pytest.mark.parametrize(
    "args, message",
    [
        ({}, "give exactly one of content"),
        ({"content": KEY, "src": "key.txt"}, "give exactly one of content"),
        ({"content": "not a key"}, "invalid age key, nothing was changed"),
        ({"content": KEY, "mode": "rw"}, "mode"),
    ],
)
def test_bad_input_fails_before_the_host_is_reached(args, message):
    shell = ActionShell()
    result = run_action("sops_age_key", args, shell)
    assert result["failed"] is True and message in result["msg"]
    assert shell.performed == []
    assert secret_free(result, shell)
