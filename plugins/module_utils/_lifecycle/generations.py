# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""A Nix profile and its generations, the running and booted systems.

The state is read on the target with one POSIX shell command (``probe_command``; no Python
needed there) and parsed here (``parse_probe``).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_operation import Operation
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command, raw

SYSTEM_PROFILE = "/nix/var/nix/profiles/system"
RUNNING_SYSTEM = "/run/current-system"
BOOTED_SYSTEM = "/run/booted-system"


@dataclass(frozen=True)
class Generation:
    """``<profile>-<number>-link`` → ``path``, created at ``date`` (epoch seconds)."""

    number: int
    path: str
    date: Optional[int] = None
    current: bool = False
    specialisations: Tuple[str, ...] = ()  # the names under PATH/specialisation/
    # deploy-rs' activate.nixos wrapper (PATH/deploy-rs-activate beside links into a toplevel): the
    # toplevel it activates, which /run/current-system then points at; None for a plain toplevel
    runs: Optional[str] = None

    def to_dict(self) -> dict:
        return {
            "number": self.number,
            "path": self.path,
            "date": self.date,
            "current": self.current,
            "specialisations": list(self.specialisations),
        }


def generation_link(profile: str, number: int) -> str:
    """The link of generation ``number`` of ``profile`` (``/nix/var/nix/profiles/system-3-link``)."""
    return "%s-%d-link" % (profile, number)


def profile_target(profile: str, number: Optional[int]) -> str:
    """What ``readlink PROFILE`` prints when generation ``number`` is current (``system-3-link``, as
    nix-env writes it: relative), or '' for a profile without one."""
    if number is None:
        return ""
    return posixpath.basename(generation_link(profile.rstrip("/"), number))


def parse_generation_link(profile: str, link: str) -> Optional[int]:
    """The generation number of ``link`` (absolute or relative) if it belongs to ``profile``."""
    base = posixpath.basename(profile.rstrip("/"))
    match = re.match(r"^%s-(\d+)-link$" % re.escape(base), posixpath.basename(link.strip()))
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class ProfileState:
    """What a host's profile and running system look like right now."""

    profile: str
    generations: Tuple[Generation, ...] = ()
    current_number: Optional[int] = None
    running_system: Optional[str] = None
    booted_system: Optional[str] = None
    running_kernel: Optional[str] = None
    booted_kernel: Optional[str] = None
    has_systemd: bool = False
    nix_version: Optional[str] = None
    extra: Dict[str, str] = field(default_factory=dict)

    @property
    def current(self) -> Optional[Generation]:
        return self.generation(self.current_number) if self.current_number is not None else None

    @property
    def profile_path(self) -> Optional[str]:
        """The store path the profile points at, or None for a profile with no generation."""
        current = self.current
        return current.path if current else None

    def generation(self, number: int) -> Optional[Generation]:
        for gen in self.generations:
            if gen.number == number:
                return gen
        return None

    def previous(self) -> Optional[Generation]:
        """The newest generation older than the current one (what ``--rollback`` goes to)."""
        if self.current_number is None:
            return None
        older = [g for g in self.generations if g.number < self.current_number]
        return older[-1] if older else None

    @property
    def needs_reboot(self) -> bool:
        """The running system's kernel is not the one the host booted."""
        if not self.running_kernel or not self.booted_kernel:
            return False
        return self.running_kernel != self.booted_kernel

    def to_facts(self) -> dict:
        return {
            "profile": self.profile,
            "generations": [g.to_dict() for g in self.generations],
            "current_generation": self.current_number,
            "profile_path": self.profile_path,
            "running_system": self.running_system,
            "booted_system": self.booted_system,
            "running_kernel": self.running_kernel,
            "booted_kernel": self.booted_kernel,
            "needs_reboot": self.needs_reboot,
            "systemd": self.has_systemd,
            "nix_version": self.nix_version,
        }


# Sets w to what "$l/nixos-version" links to when "$l" is deploy-rs' activate.nixos wrapper (an
# activatable-… buildEnv: deploy-rs-activate beside a link to every entry of the toplevel); the
# toplevel is "${w%/nixos-version}".
_WRAPPED = 'w=; [ -e "$l/deploy-rs-activate" ] && w=$(readlink "$l/nixos-version" 2>/dev/null); '


def wraps_command(path: str) -> Command:
    """Print ``wraps<TAB>TOPLEVEL``: the toplevel ``path`` activates when it is deploy-rs' wrapper
    (empty for a plain toplevel), which ``/run/current-system`` then points at."""
    return raw("l=@{path}; " + _WRAPPED + "printf 'wraps\\t%s\\n' \"${w%/nixos-version}\"", path=path)


def probe_command(profile: str = SYSTEM_PROFILE, nix_version: bool = True) -> Command:
    """A POSIX shell command printing the state of ``profile`` as ``key<TAB>value`` lines
    (without ``nix_version``, no ``nix-env`` process is started: every command is a shell builtin or
    coreutils)."""
    version = "; printf 'nix_version\\t%s\\n' \"$(nix-env --version 2>/dev/null)\"" if nix_version else ""
    return raw(
        "printf 'profile\\t%s\\n' \"$(readlink @{p} 2>/dev/null)\"; "
        'for l in @{p}-*-link; do [ -L "$l" ] || continue; '
        'sp=; for s in "$l"/specialisation/*; do [ -e "$s" ] && sp="$sp${s##*/} "; done; '
        + _WRAPPED
        + 'printf \'generation\\t%s\\t%s\\t%s\\t%s\\t%s\\n\' "${l##*/}" "$(readlink "$l")" '
        '"$(stat -c %Y "$l" 2>/dev/null)" "$sp" "${w%/nixos-version}"; done; '
        "printf 'running\\t%s\\n' \"$(readlink @{running} 2>/dev/null)\"; "
        "printf 'booted\\t%s\\n' \"$(readlink @{booted} 2>/dev/null)\"; "
        "printf 'running_kernel\\t%s\\n' \"$(readlink @{running_kernel} 2>/dev/null)\"; "
        "printf 'booted_kernel\\t%s\\n' \"$(readlink @{booted_kernel} 2>/dev/null)\"; "
        "printf 'systemd\\t%s\\n' \"$([ -d /run/systemd/system ] && echo yes || echo no)\"" + version + "; true",
        p=profile,
        running=RUNNING_SYSTEM,
        booted=BOOTED_SYSTEM,
        running_kernel=RUNNING_SYSTEM + "/kernel",
        booted_kernel=BOOTED_SYSTEM + "/kernel",
    )


def probe(profile: str = SYSTEM_PROFILE, nix_version: bool = True) -> Operation[ProfileState]:
    """The state of ``profile``, read as the login user (it needs no root)."""
    return Operation(
        "generations probe",
        probe_command(profile, nix_version),
        lambda a: parse_probe(profile, a.stdout),
        privileged=False,
        what="reading the generations of %s" % profile,
    )


def parse_probe(profile: str, output: str) -> ProfileState:
    """Parse what ``probe_command(profile)`` printed."""
    values: Dict[str, str] = {}
    generations: List[Generation] = []
    for line in output.splitlines():
        key, _sep, rest = line.partition("\t")
        if key == "generation":
            fields = rest.split("\t")
            if len(fields) < 2:
                raise ValueError("malformed generation line: %r" % line)
            number = parse_generation_link(profile, fields[0])
            if number is None:
                continue
            date = fields[2] if len(fields) > 2 else ""
            specialisations = tuple(sorted(fields[3].split())) if len(fields) > 3 else ()
            runs = fields[4] if len(fields) > 4 and fields[4].startswith("/") else None
            generations.append(
                Generation(
                    number, fields[1], int(date) if date.isdigit() else None, specialisations=specialisations, runs=runs
                )
            )
        elif key:
            values[key] = rest.strip()
    current = parse_generation_link(profile, values.get("profile", "")) if values.get("profile") else None
    generations.sort(key=lambda g: g.number)
    generations = [
        Generation(g.number, g.path, g.date, g.number == current, g.specialisations, g.runs) for g in generations
    ]
    return ProfileState(
        profile=profile,
        generations=tuple(generations),
        current_number=current,
        running_system=values.get("running") or None,
        booted_system=values.get("booted") or None,
        running_kernel=values.get("running_kernel") or None,
        booted_kernel=values.get("booted_kernel") or None,
        has_systemd=values.get("systemd") == "yes",
        nix_version=_version_word(values.get("nix_version", "")),
    )


def _version_word(text: str) -> Optional[str]:
    words = text.split()
    return words[-1] if words else None
