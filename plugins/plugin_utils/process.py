# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running commands on the controller."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from ansible_collections.nixfleet.nixos.plugins.module_utils.errors import NixError

INSTALL_HINT = ("install Nix on the controller (Debian/Ubuntu: apt-get install nix-bin; "
                "elsewhere: https://nixos.org/download) and make sure 'nix' is on PATH")


@dataclass(frozen=True)
class CommandResult:
    argv: Sequence[str]
    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


def run(argv: Sequence[str], env: Optional[Mapping[str, str]] = None, stdin: Optional[str] = None,
        timeout: Optional[float] = None) -> CommandResult:
    """Run ``argv``; ``env`` is added to this process's environment. Never raises on exit codes.

    A missing program raises ``NixError`` that says how to install it.
    """
    full_env = dict(os.environ)
    full_env.update(env or {})
    try:
        proc = subprocess.run(list(argv), input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=full_env, timeout=timeout, universal_newlines=True,
                              stdin=None if stdin is not None else subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        hint = INSTALL_HINT if os.path.basename(argv[0]).startswith("nix") else "install it"
        raise NixError("%s: command not found; %s" % (argv[0], hint), command=argv)
    except subprocess.TimeoutExpired as exc:
        raise NixError("%s timed out after %ss" % (argv[0], timeout), command=argv,
                       stderr=_text(exc.stderr), stdout=_text(exc.output))
    return CommandResult(list(argv), proc.returncode, proc.stdout, proc.stderr)


def check(result: CommandResult, what: str, host: Optional[str] = None) -> CommandResult:
    """Return ``result`` if it succeeded, else raise ``NixError`` describing ``what`` failed."""
    if not result.ok:
        raise NixError("%s failed" % what, command=result.argv, rc=result.rc, stderr=result.stderr,
                       stdout=result.stdout, host=host)
    return result


def _text(data) -> str:
    if data is None:
        return ""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data
