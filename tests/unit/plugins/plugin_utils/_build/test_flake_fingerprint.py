"""plugin_utils/_build/flake_fingerprint.py: a local flake's fingerprint changes exactly when what Nix would
read changes (a real git repository for git+file:, file sizes and times for path:)."""

import os
import subprocess

from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.flake_fingerprint import fingerprint

GIT = ["git", "-c", "user.email=ci@example.org", "-c", "user.name=ci", "-c", "init.defaultBranch=main"]


def git(directory, *args):
    subprocess.run(GIT + list(args), cwd=str(directory), check=True, stdout=subprocess.DEVNULL)


def test_remote_and_missing_refs_have_none(tmp_path):
    assert fingerprint("github:NixOS/nixpkgs") is None
    assert fingerprint("path:%s" % (tmp_path / "missing")) is None


def test_path_flake_follows_contents_and_times_but_not_skipped_dirs(tmp_path):
    (tmp_path / "flake.nix").write_text("{ }\n")
    ref = "path:%s" % tmp_path
    first = fingerprint(ref)
    assert first is not None and first.startswith("tree:") and fingerprint(ref) == first
    for skipped in (".git", ".direnv", "result"):
        (tmp_path / skipped).mkdir()
        (tmp_path / skipped / "x").write_text("ignored")
    assert fingerprint(ref) == first
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "mod.nix").write_text("1")
    second = fingerprint(ref)
    assert second != first
    os.utime(tmp_path / "sub" / "mod.nix", ns=(1, 1))  # same size, another time
    assert fingerprint(ref) not in (first, second)


def test_git_flake_follows_head_and_tracked_changes_only(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "flake.nix").write_text("{ }\n")
    ref = "git+file://%s" % tmp_path
    git(tmp_path, "add", "flake.nix")
    staged = fingerprint(ref)
    assert staged is not None and staged.startswith("git:")  # before the first commit
    git(tmp_path, "commit", "-q", "-m", "one")
    clean = fingerprint(ref)
    assert clean is not None and clean.startswith("git:") and clean != staged
    (tmp_path / "untracked.txt").write_text("nix's git fetcher does not see me")
    assert fingerprint(ref) == clean
    (tmp_path / "flake.nix").write_text("{ outputs = _: { }; }\n")
    dirty = fingerprint(ref)
    assert dirty != clean
    git(tmp_path, "commit", "-q", "-am", "two")
    assert fingerprint(ref) not in (clean, dirty)


def test_git_subdirectory_flake_ignores_changes_elsewhere(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "flake.nix").write_text("{ }\n")
    (tmp_path / "README").write_text("a")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "one")
    ref = "git+file://%s?dir=infra" % tmp_path
    before = fingerprint(ref)
    (tmp_path / "README").write_text("b")  # tracked, outside the flake's directory
    assert fingerprint(ref) == before
    (tmp_path / "infra" / "flake.nix").write_text("{ x = 1; }\n")
    assert fingerprint(ref) != before


def test_a_plain_directory_under_git_file_falls_back_to_the_tree(tmp_path):
    (tmp_path / "flake.nix").write_text("{ }\n")
    found = fingerprint("git+file://%s" % tmp_path)
    assert found is not None and found.startswith("tree:")
