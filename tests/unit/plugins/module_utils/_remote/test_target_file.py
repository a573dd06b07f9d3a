"""A target file's probe and backup commands (module_utils._remote.target_file) against the real /bin/sh."""

import subprocess


from ansible_collections.nixfleet.nixos.plugins.module_utils._remote import target_file as tf


def sh(command):
    return subprocess.run(
        ["/bin/sh", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False
    )


def test_conf_link_and_backup(tmp_path):
    (tmp_path / "real").write_text("x = 1\n")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert tf.parse_probe(sh(tf.probe_command(str(tmp_path / "link")).text).stdout).target == str(tmp_path / "real")
    assert tf.parse_probe(sh(tf.probe_command(str(tmp_path / "real")).text).stdout).kind == "file"
    backup = sh(tf.backup_command(str(tmp_path / "real"), "2026").text).stdout.strip()
    assert backup == str(tmp_path / "real.2026~") and (tmp_path / "real.2026~").read_text() == "x = 1\n"
