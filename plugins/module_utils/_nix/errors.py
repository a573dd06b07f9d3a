# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""The one error type for every failed nix or remote shell command."""

from __future__ import annotations

import re
from typing import List, Optional, Sequence

_SSH_NOISE = re.compile(r"^(Shared connection to \S+ closed\.|Connection to \S+ closed\.)$")


class NixError(Exception):
    """A nix, ssh or remote shell command failed.

    Carries what a user needs to see: the command, its exit code, its stderr and, when the
    command ran for one host, that host's name.
    """

    def __init__(
        self,
        message: str,
        command: Optional[Sequence[str]] = None,
        rc: Optional[int] = None,
        stderr: str = "",
        stdout: str = "",
        host: Optional[str] = None,
        rolled_back: bool = False,
        unreachable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.command = list(command) if command is not None else None
        self.rc = rc
        self.stderr = stderr
        self.stdout = stdout
        self.host = host
        self.rolled_back = rolled_back  # the host was put back on its previous generation
        self.unreachable = unreachable  # the host could not be reached (Ansible marks it unreachable)

    def __str__(self) -> str:
        parts = []
        if self.host:
            parts.append("%s: " % self.host)
        parts.append(self.message)
        if self.rc is not None:
            parts.append(" (exit code %d)" % self.rc)
        # stdout when it has Nix's error, or when stderr is empty: over a terminal (Ansible's become
        # allocates one) a command's stderr arrives in its stdout.
        said = nix_error_text(self.stderr)
        if has_error_line(self.stderr) or (said and not has_error_line(self.stdout)):
            detail = said
        else:
            detail = nix_error_text(self.stdout)
        if detail and detail not in self.message:
            parts.append(": %s" % detail)
        return "".join(parts)

    def to_result(self) -> dict:
        """The fields an Ansible task result reports for this failure."""
        result = {
            "msg": str(self),
            "cmd": self.command,
            "rc": self.rc,
            "stderr": self.stderr,
            "stdout": self.stdout,
        }
        for flag in ("rolled_back", "unreachable"):
            if getattr(self, flag):
                result[flag] = True
        return result


class NixTooOld(NixError):
    """The flake's nixpkgs refuses the controller's Nix (nixpkgs' ``lib/minfeatures.nix``): every host
    would fail the same way, so the evaluation stops with this one error."""


_NEEDS_FEATURES = "requires an implementation of Nix with the following features:"


def missing_nix_features(stderr: str) -> List[str]:
    """The features a nixpkgs says the running Nix lacks (its ``abort`` message), or ``[]``."""
    lines = (stderr or "").splitlines()
    for index, line in enumerate(lines):
        if _NEEDS_FEATURES in line:
            features = []
            for follow in lines[index + 1 :]:
                text = follow.strip()
                if not text.startswith("- "):
                    break
                features.append(text[2:])
            return features
    return []


def nix_too_old(error: NixError, running: str) -> Optional[NixTooOld]:
    """The one error to report when ``error`` is nixpkgs refusing the Nix ``running`` (else None)."""
    features = missing_nix_features(error.stderr)
    if not features:
        return None
    wanted = re.search(r"at least (\d+\.\d+)", " ".join(features))
    return NixTooOld(
        "the flake's nixpkgs needs a newer Nix than the controller's (%s): it requires %s. Install "
        "Nix %s or newer on the controller (Debian 13 has nix-bin 2.26) or point nix_binary at one"
        % (running, "; ".join(features), wanted.group(1) if wanted else "a newer release"),
        command=error.command,
        rc=error.rc,
        stderr=error.stderr,
    )


def has_error_line(text: str) -> bool:
    return any(line.lstrip().startswith("error:") for line in (text or "").splitlines())


def nix_error_text(stderr: str) -> str:
    """The useful part of Nix's stderr: from the first ``error:`` line on, else the last lines.

    Nix prints progress ("copying path ...", "building ...") before the error; users need the
    error, with Nix's own wording, not the noise.
    """
    lines = [
        line.rstrip() for line in (stderr or "").splitlines() if line.strip() and not _SSH_NOISE.match(line.strip())
    ]
    for index, line in enumerate(lines):
        if line.lstrip().startswith("error:"):
            return "\n".join(lines[index:])
    return "\n".join(lines[-5:])
