import fnmatch
import re

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes.flake_ref import (
    glob_to_regex,
    is_local_path,
    local_source_dir,
    locked_ref,
    resolve_flake_ref,
)


def test_local_paths_and_refs():
    assert is_local_path("../infra") and is_local_path("/srv/infra") and is_local_path("infra")
    assert is_local_path("path:/x")
    assert not is_local_path("github:org/infra") and not is_local_path("git+https://h/r")


def test_resolve_plain_directory(tmp_path):
    (tmp_path / "inv").mkdir()
    (tmp_path / "infra").mkdir()
    assert resolve_flake_ref("../infra", str(tmp_path / "inv")) == "path:%s" % (tmp_path / "infra")
    assert resolve_flake_ref("path:../infra?narHash=x", str(tmp_path / "inv")) == "path:%s?narHash=x" % (
        tmp_path / "infra"
    )


def test_resolve_inside_git_work_tree(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "nix" / "hosts").mkdir(parents=True)
    assert resolve_flake_ref("nix/hosts", str(tmp_path)) == "git+file://%s?dir=nix/hosts" % tmp_path
    assert resolve_flake_ref(".", str(tmp_path)) == "git+file://%s" % tmp_path
    # An explicit path: ref keeps path semantics even inside a work tree.
    assert resolve_flake_ref("path:nix/hosts", str(tmp_path)) == "path:%s/nix/hosts" % tmp_path


def test_resolve_remote_refs_unchanged():
    for ref in ("github:org/infra", "git+https://example.com/infra?ref=main", "git+file:///srv/x?dir=y"):
        assert resolve_flake_ref(ref, "/anywhere") == ref
    with pytest.raises(ValueError):
        resolve_flake_ref("  ", "/x")


def test_local_source_dir():
    assert local_source_dir("path:/srv/infra") == "/srv/infra"
    assert local_source_dir("git+file:///srv/repo?dir=nix/hosts") == "/srv/repo/nix/hosts"
    assert local_source_dir("git+file:///srv/repo") == "/srv/repo"
    assert local_source_dir("github:org/infra") is None


SRC = {"rev": "0123456789abcdef0123456789abcdef01234567", "narHash": "sha256-AAAA", "storePath": "/nix/store/x-source"}


def test_locked_ref_pins_commits():
    assert (
        locked_ref("git+file:///srv/repo?dir=hosts&ref=main", SRC)
        == "git+file:///srv/repo?dir=hosts&rev=0123456789abcdef0123456789abcdef01234567"
    )
    assert locked_ref("github:org/infra", SRC) == "github:org/infra?rev=0123456789abcdef0123456789abcdef01234567"


def test_locked_ref_without_commit_points_at_the_store_copy():
    no_rev = dict(SRC, rev=None)
    assert locked_ref("path:/srv/infra", no_rev) == "path:/nix/store/x-source?narHash=sha256-AAAA"
    assert locked_ref("git+file:///srv/repo?dir=nix/hosts", no_rev) == "path:/nix/store/x-source/nix/hosts"
    assert locked_ref("path:/srv/infra", {}) == "path:/srv/infra"


@pytest.mark.parametrize("pattern", ["web-*", "db-0?", "[ab]*", "[!a]*", "a.b", "x+y", "plain"])
def test_glob_to_regex_agrees_with_fnmatch(pattern):
    names = ["web-01", "web-", "db-01", "db-011", "a", "b1", "c", "a.b", "axb", "x+y", "xxy", "plain", "plainx"]
    regex = re.compile(glob_to_regex(pattern))
    assert [n for n in names if regex.fullmatch(n)] == [n for n in names if fnmatch.fnmatchcase(n, pattern)]
