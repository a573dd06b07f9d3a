"""The key file's shell probe and atomic write (run by the real /bin/sh) and the placement rules."""

import os
import stat
import subprocess

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets import key_placement as kp
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote import target_file as tf

# Test-only identities printed by age-keygen.
KEY = "AGE-SECRET-KEY-1VR9P9SQNYUVN497N3W4XNENFLRA0N5MRXN4MF0AC5V0J9EHXCTXQQZQT73\n"
OTHER = "# another\nAGE-SECRET-KEY-1JKQ55AT5SKFLVHV8S4H7FUR9MZEFGFMR87J5VA7STZ7VQXATFU2SCQ693V\n"


def sh(command, stdin=None):
    return subprocess.run(
        ["/bin/sh", "-c", command],
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        check=False,
    )


@pytest.mark.host_tools
def test_probe_absent_file_other(tmp_path):
    path = tmp_path / "key.txt"
    assert tf.parse_probe(sh(tf.probe_command(str(path)).text).stdout).kind == "absent"
    path.write_text(KEY)
    os.chmod(path, 0o640)
    state = tf.parse_probe(sh(tf.probe_command(str(path)).text).stdout)
    assert (state.kind, state.uid, state.gid, state.mode, state.content) == ("file", 0, 0, 0o640, KEY)
    link = tmp_path / "link"
    link.symlink_to(path)
    assert tf.parse_probe(sh(tf.probe_command(str(link)).text).stdout) == tf.FileState("link", target=str(path))
    assert tf.parse_probe(sh(tf.probe_command(str(tmp_path)).text).stdout).kind == "other"


@pytest.mark.host_tools
def test_write_is_atomic_and_private(tmp_path):
    path = tmp_path / "sops-nix" / "key.txt"
    proc = sh(tf.write_command(str(path), "nobody", "nogroup", 0o600, 0o700).text, stdin=KEY)
    assert proc.returncode == 0, proc.stderr
    st = os.stat(path)
    assert path.read_text() == KEY
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert st.st_uid == int(sh("id -u nobody").stdout)
    assert sorted(os.listdir(path.parent)) == ["key.txt"]  # no temporary file left


def test_failed_write_leaves_old_file_and_no_temp(tmp_path):
    path = tmp_path / "key.txt"
    path.write_text(OTHER)
    proc = sh(tf.write_command(str(path), "no-such-user-x", "root", 0o600, 0o700).text, stdin=KEY)
    assert proc.returncode != 0
    assert path.read_text() == OTHER
    assert os.listdir(tmp_path) == ["key.txt"]


def test_owner_probe_resolves_ids_in_the_same_call(tmp_path):
    path = tmp_path / "key.txt"
    path.write_text(KEY)
    uid, gid, state = tf.parse_owner_probe(sh(tf.owner_probe_command("nobody", "nogroup", str(path)).text).stdout)
    assert (uid, gid) == (int(sh("id -u nobody").stdout), int(sh("getent group nogroup | cut -d: -f3").stdout))
    assert state.content == KEY
    uid, gid, state = tf.parse_owner_probe(sh(tf.owner_probe_command("no-such-user-x", "root", str(path)).text).stdout)
    assert (uid, gid) == (None, 0) and state.kind == "file"


def test_modes():
    assert tf.parse_mode("0600") == 0o600 and tf.parse_mode("644") == 0o644
    for bad in ("rw-------", "0x600", "06000", "", "0600\n"):
        with pytest.raises(ValueError):
            tf.parse_mode(bad)


def desired(content=KEY, mode=0o600):
    return kp.Desired("/var/lib/sops-nix/key.txt", content, 0, 0, mode)


def test_plan_rules():
    absent = tf.FileState("absent")
    same = tf.FileState("file", 0, 0, 0o600, KEY)
    assert kp.plan(absent, desired(), False).action == kp.WRITE
    assert kp.plan(same, desired(), False).action == kp.NOTHING
    stricter = tf.FileState("file", 0, 0, 0o400, KEY)
    assert kp.plan(stricter, desired(), False).action == kp.FIX_PERMISSIONS
    different = tf.FileState("file", 0, 0, 0o600, OTHER)
    with pytest.raises(kp.KeyPlacementRefused, match="different age identity.*force") as info:
        kp.plan(different, desired(), False)
    assert "AGE-SECRET" not in str(info.value)
    assert kp.plan(different, desired(), True).action == kp.WRITE
    readable = tf.FileState("file", 0, 0, 0o644, KEY)
    with pytest.raises(kp.KeyPlacementRefused, match="mode 0644.*rotate it"):
        kp.plan(readable, desired(), False)
    assert kp.plan(readable, desired(), True).action == kp.FIX_PERMISSIONS
    foreign = tf.FileState("file", 1000, 0, 0o600, KEY)
    with pytest.raises(kp.KeyPlacementRefused, match="owned by 1000:0"):
        kp.plan(foreign, desired(), False)
    with pytest.raises(kp.KeyPlacementRefused, match="not a regular file"):
        kp.plan(tf.FileState("other"), desired(), True)
    with pytest.raises(kp.KeyPlacementRefused, match="not a regular file"):
        kp.plan(tf.FileState("link", target="/nix/store/x-key"), desired(), True)


def test_description_shows_recipients_never_keys():
    text = kp.describe("/k", tf.FileState("file", 0, 0, 0o600, OTHER))
    assert "AGE-SECRET-KEY" not in text.upper()
    assert "recipients:\n  - age1" in text
    assert kp.describe("/k", tf.FileState("absent")) == ""
