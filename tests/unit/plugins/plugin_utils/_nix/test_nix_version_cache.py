"""nix_version_cache (plugins/plugin_utils/_nix/nix_version_cache.py): ``nix --version`` remembered per
installed Nix (its real path, size and modification time), in the collection's cache directory; a cache
that cannot be read or written is only a cache."""

import json
import os

import pytest

from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix import nix_version_cache as cache


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A cache directory of its own and a stand-in ``nix`` executable on PATH."""
    monkeypatch.setenv("NIXFLEET_CACHE_DIR", str(tmp_path / "cache"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    nix = bin_dir / "nix"
    nix.write_text("#!/bin/sh\necho 'nix (Nix) 2.8.0'\n")
    nix.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    return tmp_path


def test_the_cache_directory_follows_the_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("NIXFLEET_CACHE_DIR", "/srv/nf-cache")
    assert cache.cache_home() == "/srv/nf-cache"
    assert cache.cache_file() == "/srv/nf-cache/nix-version.json"
    monkeypatch.delenv("NIXFLEET_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "/var/xdg")
    assert cache.cache_home() == "/var/xdg/nixfleet"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache.cache_home() == str(tmp_path / ".cache" / "nixfleet")


def test_a_version_is_remembered_under_the_executables_real_path_size_and_time(home):
    assert cache.lookup("nix") is None
    cache.remember("nix", "nix (Nix) 2.8.0\n")
    assert cache.lookup("nix") == "nix (Nix) 2.8.0\n"
    real = home / "bin" / "nix"
    st = os.stat(str(real))
    stored = json.loads((home / "cache" / "nix-version.json").read_text())
    assert stored == {"%s %d %d" % (real, st.st_size, st.st_mtime_ns): "nix (Nix) 2.8.0\n"}
    # the same executable under its full path is the same Nix
    assert cache.lookup(str(real)) == "nix (Nix) 2.8.0\n"


def test_a_symlink_is_keyed_by_the_file_it_points_to(home):
    link = home / "bin" / "nix-link"
    link.symlink_to(home / "bin" / "nix")
    cache.remember("nix-link", "nix (Nix) 2.34.8\n")
    assert cache.lookup("nix") == "nix (Nix) 2.34.8\n"


def test_an_upgraded_nix_is_a_new_key(home):
    cache.remember("nix", "nix (Nix) 2.8.0\n")
    nix = home / "bin" / "nix"
    nix.write_text("#!/bin/sh\necho 'nix (Nix) 2.34.8'  # the new one\n")  # another size and time
    assert cache.lookup("nix") is None
    cache.remember("nix", "nix (Nix) 2.34.8\n")
    assert cache.lookup("nix") == "nix (Nix) 2.34.8\n"
    assert len(json.loads((home / "cache" / "nix-version.json").read_text())) == 2  # the old key stays


def test_a_nix_that_is_not_there_is_neither_looked_up_nor_remembered(home):
    assert cache.executable_key("no-such-nix") is None
    cache.remember("no-such-nix", "nix (Nix) 2.8.0\n")
    assert cache.lookup("no-such-nix") is None
    assert not (home / "cache" / "nix-version.json").exists()


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"%s": 3}'])
def test_a_cache_that_cannot_be_read_is_empty_and_is_rewritten(home, content):
    key = cache.executable_key("nix")
    (home / "cache").mkdir()
    (home / "cache" / "nix-version.json").write_text(content.replace("%s", key or ""))
    assert cache.lookup("nix") is None
    cache.remember("nix", "nix (Nix) 2.8.0\n")
    assert cache.lookup("nix") == "nix (Nix) 2.8.0\n"


def test_a_cache_that_cannot_be_written_is_no_error(home, monkeypatch):
    blocked = home / "blocked"
    blocked.write_text("")  # a file where the directory would be, even root cannot make it
    monkeypatch.setenv("NIXFLEET_CACHE_DIR", str(blocked / "sub"))
    cache.remember("nix", "nix (Nix) 2.8.0\n")
    assert cache.lookup("nix") is None
