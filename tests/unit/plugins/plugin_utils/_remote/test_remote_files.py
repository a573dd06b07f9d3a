"""plugin_utils/_remote/remote_files.py with the real sh on this machine as the target (LocalShell): probe,
read, install atomically, ensure (idempotent, check mode, refusals)."""

import os

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote import remote_files as rf

from local_shell import LocalShell

pytestmark = pytest.mark.host_tools  # chown root:root: the writes need root, as on a target


def test_probe_kinds(tmp_path):
    shell = LocalShell()
    (tmp_path / "f").write_text("x\ny")
    os.chmod(str(tmp_path / "f"), 0o640)
    os.symlink(str(tmp_path / "f"), str(tmp_path / "l"))
    state = rf.probe(shell, str(tmp_path / "f"))
    assert (state.kind, state.mode, state.uid, state.content) == ("file", 0o640, os.getuid(), "x\ny")
    assert rf.probe(shell, str(tmp_path / "l")).kind == "link"
    assert rf.probe(shell, str(tmp_path)).kind == "other"
    assert rf.probe(shell, str(tmp_path / "none")).kind == "absent"


def test_read_text_names_what_is_wrong(tmp_path):
    shell = LocalShell()
    (tmp_path / "f").write_text("key\n")
    assert rf.read_text(shell, str(tmp_path / "f")) == "key\n"
    with pytest.raises(NixError) as absent:
        rf.read_text(shell, str(tmp_path / "none"))
    assert str(absent.value) == "here: %s does not exist" % (tmp_path / "none")
    with pytest.raises(NixError) as other:
        rf.read_text(shell, str(tmp_path))
    assert "%s is not a regular file" % tmp_path in str(other.value)


def test_install_makes_the_directory_and_sets_mode(tmp_path):
    shell = LocalShell()
    path = tmp_path / "new" / "key.txt"
    rf.install(shell, str(path), "secret\n", mode=0o600, dir_mode=0o700, sensitive=True)
    assert path.read_text() == "secret\n"
    assert oct(os.stat(str(path)).st_mode & 0o777) == "0o600"
    assert oct(os.stat(str(path.parent)).st_mode & 0o777) == "0o700"
    assert os.listdir(str(path.parent)) == ["key.txt"]  # no temporary file left
    assert "secret" not in shell.carried[0][0].text  # the content went on stdin


def test_ensure_writes_once_then_reports_unchanged(tmp_path):
    shell = LocalShell()
    path = str(tmp_path / "nix.conf")
    assert rf.ensure(shell, path, "a = 1\n", check_mode=True) is True
    assert not os.path.exists(path)  # check mode wrote nothing
    assert rf.ensure(shell, path, "a = 1\n") is True
    assert rf.ensure(shell, path, "a = 1\n") is False
    os.chmod(path, 0o600)
    assert rf.ensure(shell, path, "a = 1\n") is True  # the mode is part of the state
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"


def test_ensure_refuses_links_and_directories_and_changes_nothing(tmp_path):
    shell = LocalShell()
    (tmp_path / "real").write_text("keep\n")
    os.symlink(str(tmp_path / "real"), str(tmp_path / "link"))
    with pytest.raises(NixError) as caught:
        rf.ensure(shell, str(tmp_path / "link"), "new\n")
    assert "is not a regular file; nothing was changed" in str(caught.value)
    assert (tmp_path / "real").read_text() == "keep\n" and os.path.islink(str(tmp_path / "link"))
