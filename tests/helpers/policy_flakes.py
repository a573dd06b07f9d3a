"""Small local flakes locked by the real ``nix flake lock`` (git and path inputs, no network), for
the approved-inputs policy: an approved "nixpkgs", a rogue one, a library with its own nixpkgs input."""

import os
import subprocess
from pathlib import Path
from typing import Dict

GIT = ["git", "-c", "user.email=ci@example.org", "-c", "user.name=ci", "-c", "init.defaultBranch=main"]


def git_flake(directory: Path, flake_nix: str) -> str:
    """A one-commit git repository holding ``flake.nix``; returns its ``git+file://`` ref."""
    directory.mkdir(parents=True)
    (directory / "flake.nix").write_text(flake_nix)
    for argv in (["init", "-q"], ["add", "flake.nix"], ["commit", "-q", "-m", "init"]):
        subprocess.run(GIT + argv, cwd=str(directory), check=True)
    return "git+file://%s" % directory


def lock(directory: Path) -> None:
    env = dict(os.environ, NIX_CONFIG="experimental-features = nix-command flakes\nsubstituters =")
    subprocess.run(
        ["nix", "flake", "lock"],
        cwd=str(directory),
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def make_flakes(root: Path) -> Dict[str, Path]:
    """``good`` follows the policy; ``bad`` breaks it three ways; ``unlocked`` has no flake.lock;
    ``broken`` does not parse. Returns their directories (and those of the ``approved`` and ``rogue`` nixpkgs)."""
    approved = git_flake(root / "approved-nixpkgs", "{ outputs = { self }: { lib.ok = true; }; }\n")
    rogue = git_flake(root / "rogue-nixpkgs", "{ outputs = { self }: { lib.ok = false; }; }\n")
    library = git_flake(
        root / "library", '{ inputs.nixpkgs.url = "%s"; outputs = { self, nixpkgs }: { }; }\n' % approved
    )
    (root / "good").mkdir()
    (root / "good" / "flake.nix").write_text(
        '{ inputs.nixpkgs.url = "%s";\n  inputs.library.url = "%s";\n'
        '  inputs.library.inputs.nixpkgs.follows = "nixpkgs";\n  outputs = { self, ... }: { }; }\n'
        % (approved, library)
    )
    (root / "bad").mkdir()
    (root / "bad" / "flake.nix").write_text(
        '{ inputs.nixpkgs.url = "%s";\n  inputs.library.url = "%s";\n  inputs.tools.url = "path:%s";\n'
        "  outputs = { self, ... }: { }; }\n" % (rogue, library, root / "approved-nixpkgs")
    )
    for name in ("good", "bad"):
        lock(root / name)
    (root / "unlocked").mkdir()
    (root / "unlocked" / "flake.nix").write_text((root / "good" / "flake.nix").read_text())
    (root / "broken").mkdir()
    (root / "broken" / "flake.nix").write_text("{ outputs = { self }: { ; }\n")
    (root / "broken" / "flake.lock").write_text('{"nodes": {"root": {}}, "root": "root", "version": 7}\n')
    return {
        "good": root / "good",
        "bad": root / "bad",
        "unlocked": root / "unlocked",
        "broken": root / "broken",
        "approved": root / "approved-nixpkgs",
        "rogue": root / "rogue-nixpkgs",
    }
