"""plugin_utils/_remote/controller_files.py: files on the controller, read and written with clear errors
that name the file but never quote it (it may hold a key)."""

import os

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.controller_files import (
    load_yaml,
    read_text,
    write_files,
)


def test_read_text(tmp_path):
    (tmp_path / "k").write_text("AGE-SECRET-KEY-1X\n")
    assert read_text(str(tmp_path / "k"), "src") == "AGE-SECRET-KEY-1X\n"


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(NixError) as caught:
        read_text(str(tmp_path / "nope"), "src")
    assert str(caught.value).startswith("src %s cannot be read: No such file or directory" % (tmp_path / "nope"))


def test_binary_content_is_refused_without_quoting_it(tmp_path):
    (tmp_path / "bin").write_bytes(b"\xff\xfesecret")
    with pytest.raises(NixError) as caught:
        read_text(str(tmp_path / "bin"), "key")
    assert "key %s cannot be read: it is not UTF-8 text" % (tmp_path / "bin") in str(caught.value)
    assert "secret" not in str(caught.value)


def test_load_yaml_and_json(tmp_path):
    (tmp_path / "a.yml").write_text("hosts:\n  - web\n")
    (tmp_path / "b.json").write_text('{"hosts": ["db"]}')
    assert load_yaml(str(tmp_path / "a.yml"), "policy") == {"hosts": ["web"]}
    assert load_yaml(str(tmp_path / "b.json"), "policy") == {"hosts": ["db"]}


def test_malformed_yaml_is_named(tmp_path):
    (tmp_path / "bad.yml").write_text("a: [1, 2\n")
    with pytest.raises(NixError) as caught:
        load_yaml(str(tmp_path / "bad.yml"), "policy")
    assert str(caught.value).startswith("policy %s is not valid YAML" % (tmp_path / "bad.yml"))


def test_write_files_makes_the_directory_and_leaves_no_temporary_file(tmp_path):
    out = tmp_path / "report" / "sub"
    written = write_files(str(out), {"a.json": "{}\n", "b.md": "# b\n"})
    assert written == [str(out / "a.json"), str(out / "b.md")]
    assert (out / "a.json").read_text() == "{}\n" and (out / "b.md").read_text() == "# b\n"
    assert sorted(os.listdir(str(out))) == ["a.json", "b.md"]
    assert oct(os.stat(str(out / "a.json")).st_mode & 0o777) == "0o644"
    write_files(str(out), {"a.json": "[]\n"})
    assert (out / "a.json").read_text() == "[]\n"


def test_write_files_where_a_file_blocks_the_directory(tmp_path):
    (tmp_path / "report").write_text("a file, not a directory")
    with pytest.raises(NixError) as caught:
        write_files(str(tmp_path / "report"), {"a.json": "{}"}, "the deploy report")
    assert str(caught.value).startswith("writing the deploy report to %s failed: File exists" % (tmp_path / "report"))
