# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Package profiles: one store path (a user environment) holding a set of flake packages.

The environment is Nix's own ``builtin:buildenv`` (what ``nix-env`` builds), declared directly, so
it needs no nixpkgs and builds anywhere; its references are exactly its packages (plus its
manifest). Several hosts' sets are declared in one Nix file and built by one ``nix build``.
The diff of two profiles compares package names and versions (Nix's ``parseDrvName`` rule: the
version starts at the first ``-`` followed by a digit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes.flake_inventory import nix_string
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command, lines, raw
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.target_file import check_target_path

ENV_NAME = "nixfleet-profile"
MANIFEST = "manifest.nix"
_ATTR = re.compile(r'"((?:[^"\\]|\\.)*)"|([^."]+)')


class ProfileError(ValueError):
    """An installable or profile this module cannot use."""


def parse_installable(installable: str) -> Tuple[str, List[str]]:
    """``FLAKEREF#attr.path`` → (flake ref, [attr, path]); quoted names (``"a.b"``) stay whole."""
    ref, sep, attr = installable.partition("#")
    if not sep or not ref or not attr:
        raise ProfileError(
            "%r is not FLAKEREF#ATTRIBUTE (e.g. github:acme/approved#packages.x86_64-linux.jq)" % installable
        )
    names, pos = [], 0
    while pos < len(attr):
        match = _ATTR.match(attr, pos)
        if not match:
            raise ProfileError("%r: cannot read the attribute path %r" % (installable, attr))
        names.append(match.group(1) if match.group(1) is not None else match.group(2))
        pos = match.end()
        if pos < len(attr):
            if attr[pos] != ".":
                raise ProfileError("%r: cannot read the attribute path %r" % (installable, attr))
            pos += 1
    return ref, names


def env_expression(sets: Dict[str, Sequence[str]], system: str = "x86_64-linux") -> str:
    """A Nix file: ``{ NAME = { env = <user environment>; packages = [ <out paths> ]; }; … }``."""
    lines = [
        "let",
        "  pkg = ref: path: builtins.foldl' (set: name: set.${name}) (builtins.getFlake ref) path;",
        "  env = pkgs: derivation {",
        '    name = %s; system = "builtin"; builder = "builtin:buildenv";' % nix_string(ENV_NAME),
        '    manifest = builtins.toFile %s "[ ]";' % nix_string(MANIFEST),
        '    derivations = builtins.concatMap (d: [ "true" 5 1 d.outPath ]) pkgs;',
        "    preferLocalBuild = true; allowSubstitutes = false;",
        "  };",
        "  set = pkgs: { env = env pkgs; packages = map (d: d.outPath) pkgs; };",
        "in {",
    ]
    for name, installables in sorted(sets.items()):
        pkgs = []
        for installable in installables:
            ref, path = parse_installable(installable)
            pkgs.append("(pkg %s [ %s ])" % (nix_string(ref), " ".join(nix_string(p) for p in path)))
        lines.append("  %s = set [ %s ];" % (nix_string(name), " ".join(pkgs)))
    lines.append("}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    path: str


def package_of(store_path: str) -> Package:
    """Name and version of a store path (``/nix/store/HASH-jq-1.7.1`` → jq, 1.7.1)."""
    base = store_path.rstrip("/").rsplit("/", 1)[-1]
    full = base.split("-", 1)[1] if "-" in base else base
    match = re.search(r"-(?=\d)", full)
    if match:
        return Package(full[: match.start()], full[match.end() :], store_path)
    return Package(full, "", store_path)


def packages_of(references: Sequence[str]) -> List[Package]:
    """The packages of an environment from its references (its manifest left out)."""
    return sorted(
        (package_of(p) for p in references if p and not p.endswith("-" + MANIFEST)), key=lambda p: (p.name, p.version)
    )


def diff(before: Sequence[Package], after: Sequence[Package]) -> Dict[str, List[str]]:
    """``{added, removed, changed}``: ``name version``, ``name version``, ``name old -> new``."""
    old = {p.name: p for p in before}
    new = {p.name: p for p in after}
    return {
        "added": ["%s %s" % (n, new[n].version) for n in sorted(set(new) - set(old))],
        "removed": ["%s %s" % (n, old[n].version) for n in sorted(set(old) - set(new))],
        "changed": [
            "%s %s -> %s" % (n, old[n].version, new[n].version)
            for n in sorted(set(old) & set(new))
            if old[n].path != new[n].path
        ],
    }


def describe(packages: Sequence[Package]) -> str:
    """One ``name version`` per line, for a diff."""
    return "".join("%s %s\n" % (p.name, p.version) for p in packages)


def references_command(path: str) -> Command:
    """``reference<TAB>PATH`` for each reference of ``path`` (a profile: of what it points at) on the
    target; nothing if absent. Tagged, so it can follow generations.probe_command in one call."""
    return raw(
        'p=$(readlink -f @{path} 2>/dev/null) && [ -e "$p" ] && nix-store -q --references "$p" | '
        "sed 's/^/reference\t/' || true",
        path=path,
    )


def parse_references(output: str) -> List[str]:
    return [line.split("\t", 1)[1] for line in output.splitlines() if line.startswith("reference\t")]


def link_bin_command(profile: str, bin_dir: str) -> Command:
    """Link every ``PROFILE/bin/*`` into ``bin_dir`` (pointing at the profile, so later generations
    apply) and remove links into ``PROFILE/bin`` that no longer resolve; never replaces a file
    that is not such a link. Prints ``linked``, ``removed`` and ``skipped`` lines."""
    return raw(
        'set -e; p=@{p}; d=@{d}; mkdir -p "$d"; '
        'for f in "$p"/bin/*; do [ -e "$f" ] || continue; n=${f##*/}; t="$d/$n"; '
        'if [ -L "$t" ] && [ "$(readlink "$t")" = "$p/bin/$n" ]; then continue; fi; '
        'if [ -e "$t" ] || [ -L "$t" ]; then case "$(readlink "$t" 2>/dev/null)" in "$p"/bin/*) ;; '
        '*) echo "skipped $t"; continue;; esac; fi; '
        'ln -sfn "$p/bin/$n" "$t"; echo "linked $t"; done; '
        'for t in "$d"/*; do [ -L "$t" ] || continue; case "$(readlink "$t")" in "$p"/bin/*) '
        '[ -e "$t" ] || { rm -f "$t"; echo "removed $t"; };; esac; done',
        p=profile,
        d=bin_dir,
    )


PROFILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+-]*")


def check_profile_name(name: str) -> str:
    """A profile name becomes a file name (``profiles/NAME``, ``profile.d/nix-profile-NAME.sh``): letters,
    digits and ``._+-``, not starting with a dot or dash, so it can reach no other directory."""
    if not PROFILE_NAME.fullmatch(name or "") or len(name) > 200:
        raise ProfileError("profile name %r: use letters, digits and . _ + - (not first: . or -), at most 200" % name)
    return name


def check_profile_path(path: str) -> str:
    """An absolute, normalised path (no ``..``, ``.`` or ``//``) without control characters."""
    try:
        return check_target_path(path, "profile")
    except ValueError as exc:
        raise ProfileError(str(exc))


def profile_d_script(profile: str) -> str:
    """``/etc/profile.d`` snippet putting ``PROFILE/bin`` on PATH; the path is one shell word (never expanded)."""
    return lines(
        [
            raw("# Written by nixfleet.nixos.nix_profile: the packages of a Nix profile on PATH"),
            raw("nixfleet_profile_bin=@{bin}", bin=check_profile_path(profile) + "/bin"),
            raw(
                'case ":$PATH:" in *":$nixfleet_profile_bin:"*) ;; *) PATH="$nixfleet_profile_bin:$PATH"; export PATH;; esac'
            ),
            raw("unset nixfleet_profile_bin"),
            raw(""),
        ]
    ).text
