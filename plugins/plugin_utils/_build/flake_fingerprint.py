# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""A fingerprint of a local flake's content, computed without running ``nix``.

The inventory cache key includes it, so an edit (a new commit, a dirty tree, a changed file or
flake.lock) is never answered from the cache. Remote refs have none (their cache entry lives
until ``cache_timeout``; pin a ``rev`` to make them immutable).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from typing import Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes.flake_ref import git_toplevel, local_source_dir

SKIP_DIRS = {".git", ".direnv", "result"}


def _git(top: str, *args: str) -> bytes:
    return subprocess.run(
        ["git", "-C", top] + list(args), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True
    ).stdout


def _git_fingerprint(top: str, directory: str) -> str:
    """HEAD plus every tracked change (what Nix's git fetcher sees, dirty or not)."""
    digest = hashlib.sha256()
    digest.update(_git(top, "rev-parse", "--verify", "-q", "HEAD") if _has_head(top) else b"no-head")
    rel = os.path.relpath(directory, top)
    digest.update(_git(top, "diff", "HEAD" if _has_head(top) else "--cached", "--binary", "--no-ext-diff", "--", rel))
    digest.update(_git(top, "ls-files", "-s", "--", rel))
    return "git:" + digest.hexdigest()


def _has_head(top: str) -> bool:
    return (
        subprocess.run(
            ["git", "-C", top, "rev-parse", "--verify", "-q", "HEAD"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        ).returncode
        == 0
    )


def _tree_fingerprint(directory: str) -> str:
    """Every file's path, size and modification time."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            path = os.path.join(root, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            digest.update(("%s\0%d\0%d\n" % (os.path.relpath(path, directory), st.st_size, st.st_mtime_ns)).encode())
    return "tree:" + digest.hexdigest()


def fingerprint(ref: str) -> Optional[str]:
    directory = local_source_dir(ref)
    if directory is None or not os.path.isdir(directory):
        return None
    if ref.startswith("git+file:"):
        top = git_toplevel(directory)
        if top:
            try:
                return _git_fingerprint(top, directory)
            except (OSError, subprocess.CalledProcessError):
                pass
    return _tree_fingerprint(directory)
