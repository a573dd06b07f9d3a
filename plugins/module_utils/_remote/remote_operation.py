# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""One remote operation: the command, how it must run, and the parser of its answer, side by side
(as community.general's CmdRunner keeps a command and its ``output_process`` together).

A ``RemoteShell`` performs it (``shell.perform(op)``) and returns what ``parse`` made of the exit
code and output: a typed result, usually with an Enum the callers match on. A fake shell in a
test answers operations by ``name`` with canned output, and the real parser reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generic, Optional, Protocol, TypeVar

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command

T = TypeVar("T")


class Answer(Protocol):
    """What a target said (``plugin_utils._nix.process.CommandResult`` is one)."""

    @property
    def rc(self) -> int:
        """The exit code."""

    @property
    def stdout(self) -> str:
        """Standard output."""

    @property
    def stderr(self) -> str:
        """Standard error."""


@dataclass(frozen=True)
class Operation(Generic[T]):
    name: str  # what it is, for fakes and messages ("launch", "confirm", "probe", ...)
    command: Command
    parse: Callable[[Any], T]  # reads the shell's answer (an ``Answer``: rc, stdout, stderr)
    privileged: bool = True  # through the connection's become (root); read-only probes pass False
    sensitive: bool = False  # input or output holds secrets (never logged)
    stdin: Optional[str] = None
    what: Optional[str] = None  # set: any exit code but 0 fails, as "WHAT failed" (else parse reads every answer)
