"""A file on a target (module_utils._remote.target_file): its path and mode checked, its probe, owner
probe, write, permissions and backup commands run by the real /bin/sh, their answers read back."""

import re
import subprocess

import pytest


from ansible_collections.nixfleet.nixos.plugins.module_utils._remote import target_file as tf
from local_shell import sh


def test_conf_link_and_backup(tmp_path):
    (tmp_path / "real").write_text("x = 1\n")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert tf.parse_probe(sh(tf.probe_command(str(tmp_path / "link")).text).stdout).target == str(tmp_path / "real")
    assert tf.parse_probe(sh(tf.probe_command(str(tmp_path / "real")).text).stdout).kind == "file"
    backup = sh(tf.backup_command(str(tmp_path / "real"), "2026").text).stdout.strip()
    assert backup == str(tmp_path / "real.2026~") and (tmp_path / "real.2026~").read_text() == "x = 1\n"


def test_a_target_path_must_be_absolute_and_normalised():
    assert tf.check_target_path("/etc/nix/nix.conf", "path") == "/etc/nix/nix.conf"
    for bad in ("etc/nix.conf", "/etc/../root/x", "/etc/./x", "//etc/x", "/etc/x/", "/etc/a\nb", "/etc/\x7f", ""):
        with pytest.raises(ValueError, match=re.escape("dest %r: give an absolute, normalised path" % bad)):
            tf.check_target_path(bad, "dest")


def test_modes_are_three_octal_digits():
    assert tf.parse_mode("0600") == 0o600 and tf.parse_mode("644") == 0o644 and tf.parse_mode("0400") == 0o400
    for bad in ("0800", "600a", "06000", "rw-------", "", "0o600"):
        with pytest.raises(ValueError, match="is not an octal permission like 0600"):
            tf.parse_mode(bad)


def test_the_probe_answers_read_back():
    assert tf.parse_probe("nixfleet-target-file absent\n") == tf.FileState("absent")
    assert not tf.parse_probe("nixfleet-target-file absent\n").exists
    assert tf.parse_probe("nixfleet-target-file other\n") == tf.FileState("other")
    assert tf.parse_probe("nixfleet-target-file link /etc/static/nix.conf\n") == tf.FileState(
        "link", target="/etc/static/nix.conf"
    )
    state = tf.parse_probe("nixfleet-target-file file 0 30000 640\nline 1\nline 2\n")
    assert state == tf.FileState("file", 0, 30000, 0o640, "line 1\nline 2\n") and state.exists
    with pytest.raises(ValueError, match="unexpected answer from the file probe: 'sudo: a password is required'"):
        tf.parse_probe("sudo: a password is required\n")


def test_the_probe_and_the_write_on_a_real_file(tmp_path):
    path = str(tmp_path / "keys" / "it's $(id)")  # a path full of shell syntax is one word
    assert tf.parse_probe(sh(tf.probe_command(path).text).stdout) == tf.FileState("absent")
    write = tf.write_command(path, "root", "root", 0o640, 0o710).text
    proc = subprocess.run(["/bin/sh", "-c", write], input="s3cret\n", universal_newlines=True, check=False)
    assert proc.returncode == 0
    assert tf.parse_probe(sh(tf.probe_command(path).text).stdout) == tf.FileState("file", 0, 0, 0o640, "s3cret\n")
    assert oct((tmp_path / "keys").stat().st_mode & 0o777) == oct(0o710)
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["it's $(id)"]  # no temporary file left
    # a second write replaces the content; a failed one (an unknown owner) leaves the file as it was
    subprocess.run(["/bin/sh", "-c", write], input="new\n", universal_newlines=True, check=True)
    bad = tf.write_command(path, "no-such-user-x", "root", 0o600, 0o700).text
    failed = subprocess.run(
        ["/bin/sh", "-c", bad], input="lost\n", stderr=subprocess.PIPE, universal_newlines=True, check=False
    )
    assert failed.returncode != 0
    assert tf.parse_probe(sh(tf.probe_command(path).text).stdout).content == "new\n"
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["it's $(id)"]
    assert sh(tf.fix_permissions_command(path, "root", "root", 0o600).text).returncode == 0
    assert tf.parse_probe(sh(tf.probe_command(path).text).stdout).mode == 0o600


def test_the_owner_probe_resolves_ids_in_the_same_round_trip(tmp_path):
    (tmp_path / "f").write_text("x")
    uid, gid, state = tf.parse_owner_probe(sh(tf.owner_probe_command("root", "root", str(tmp_path / "f")).text).stdout)
    assert (uid, gid, state.kind, state.content) == (0, 0, "file", "x")
    uid, gid, state = tf.parse_owner_probe(
        sh(tf.owner_probe_command("no-such-user-x", "no-such-group-x", str(tmp_path / "g")).text).stdout
    )
    assert (uid, gid, state) == (None, None, tf.FileState("absent"))
    with pytest.raises(ValueError, match="unexpected answer from the owner probe"):
        tf.parse_owner_probe("nixfleet-target-file absent\n")


def test_the_operations_are_named_and_the_owner_probe_is_sensitive():
    probe = tf.probe("/etc/nix/nix.conf")
    assert (probe.name, probe.sensitive, probe.what) == ("file probe", False, "reading /etc/nix/nix.conf")
    assert tf.probe("/run/keys/k", sensitive=True).sensitive
    owner = tf.owner_probe("root", "keys", "/run/keys/k")
    assert (owner.name, owner.sensitive) == ("owner probe", True)
