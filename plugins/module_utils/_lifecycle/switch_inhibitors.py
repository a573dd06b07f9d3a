# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""NixOS 26.05's switch inhibitors (``system.switch.inhibitors``).

A toplevel lists the components that must not change under a running system in its
``switch-inhibitors`` file. When the new system's list differs from the running system's,
``switch-to-configuration switch``/``test`` refuse ("Pre-switch check 'switchInhibitors' failed")
unless ``NIXOS_NO_CHECK=1``; ``boot`` always works, so the way through is ``boot`` and a reboot.
The switch reads both lists in the probe it makes anyway (``lines_command``), before it changes
anything, so it can say why and, when asked, take that way instead of failing half-way (and never
roll back for it). A missing file counts as an empty list, as in the fixture's check; a host with no
running system is never inhibited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generation_commands import SETS_RUNNING
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command, probe_field, raw

INHIBITORS_FILE = "switch-inhibitors"
RUNNING_LINK = "/run/current-system"
CHOICES = ("fail", "boot")  # what to do when inhibited: fail before anything changes, or boot + reboot
LIVE_ACTIONS = SETS_RUNNING  # the actions the check refuses


@dataclass(frozen=True)
class Inhibitors:
    """The running system's and the new system's lists, whitespace-normalised (new: None when unknown,
    the new system being neither on the host nor given)."""

    running: str
    new: Optional[str]

    @property
    def block(self) -> bool:
        """The live switch would be refused."""
        return self.new is not None and self.new != self.running

    def describe(self) -> str:
        return "%s -> %s" % (self.running or "(none)", self.new or "(none)")


def normalised(text: str) -> str:
    """A list as one line of its entries, space-separated (the file holds one store path per line)."""
    return " ".join(text.split())


def lines_command(path: str, running_link: str = RUNNING_LINK) -> Command:
    """``inhibitors_running<TAB>…`` and ``inhibitors_new<TAB>…`` lines (shell builtins and coreutils)."""
    return raw(
        "printf 'inhibitors_running\\t%s\\n' \"$(tr '\\n' ' ' < @{running} 2>/dev/null)\"; "
        "printf 'inhibitors_new\\t%s\\n' \"$(tr '\\n' ' ' < @{new} 2>/dev/null)\"",
        running="%s/%s" % (running_link, INHIBITORS_FILE),
        new="%s/%s" % (path, INHIBITORS_FILE),
    )


def read(output: str, new_present: bool, new_elsewhere: Optional[str] = None) -> Inhibitors:
    """What ``lines_command`` printed; when the new system is not on the host (check mode),
    ``new_elsewhere`` is its list as the controller's store has it (None: unknown)."""
    new = (
        normalised(probe_field(output, "inhibitors_new") or "")
        if new_present
        else (normalised(new_elsewhere) if new_elsewhere is not None else None)
    )
    return Inhibitors(running=normalised(probe_field(output, "inhibitors_running") or ""), new=new)
