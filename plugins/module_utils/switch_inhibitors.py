# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NixOS 26.05's switch inhibitors (``system.switch.inhibitors``).

A toplevel lists the components that must not change under a running system in its
``switch-inhibitors`` file. When the new system's list differs from the running system's,
``switch-to-configuration switch``/``test`` refuse ("Pre-switch check 'switchInhibitors' failed")
unless ``NIXOS_NO_CHECK=1``; ``boot`` always works, so the way through is ``boot`` and a reboot.
The deploy compares the two files before it changes anything, so it can say why and, when asked,
take that way instead of failing half-way (and never rolls back for it). A missing file counts as
an empty list, as in the fixture's check; a host with no running system is never inhibited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils.remote_operation import Answer, Operation
from ansible_collections.nixfleet.nixos.plugins.module_utils.shell import raw

INHIBITORS_FILE = "switch-inhibitors"
RUNNING_LINK = "/run/current-system"
CHOICES = ("fail", "boot")  # what to do when inhibited: fail before anything changes, or boot + reboot
_SEPARATOR = "--nixfleet-switch-inhibitors-of-the-new-system--"


@dataclass(frozen=True)
class Inhibitors:
    """The running system's and the new system's lists (None: the new system is not on the host)."""

    has_running: bool
    running: str
    new: Optional[str]

    def blocks(self, new_locally: Optional[str] = None) -> bool:
        """The live switch would be refused (``new_locally``: the new list read elsewhere, when the
        system is not on the host yet, as in check mode)."""
        new = self.new if self.new is not None else new_locally
        return self.has_running and new is not None and new.strip() != self.running.strip()

    def describe(self, new_locally: Optional[str] = None) -> str:
        new = self.new if self.new is not None else new_locally
        return "%s -> %s" % (_one_line(self.running), _one_line(new or ""))


def _one_line(text: str) -> str:
    return ", ".join(line.strip() for line in text.splitlines() if line.strip()) or "(none)"


def _split(text: str, separator: str):
    """(before, after) the first ``separator``; (text, "") without one."""
    parts = text.split(separator, 1)
    return parts[0], parts[1] if len(parts) > 1 else ""


def parse_inhibitors(answer: Answer) -> Inhibitors:
    head, new = _split(answer.stdout, _SEPARATOR + "\n")
    state, running = _split(head, "\n")
    present, new_text = _split(new, "\n")
    return Inhibitors(has_running=state == "running", running=running,
                      new=new_text if present == "present" else None)


def probe(path: str, running_link: str = RUNNING_LINK) -> Operation[Inhibitors]:
    """Both lists, in one round trip."""
    command = raw(
        "if [ -e @{link} ]; then echo running; else echo none; fi; cat @{link}/@{file} 2>/dev/null; "
        "echo; echo @{sep}; if [ -e @{path} ]; then echo present; else echo absent; fi; "
        "cat @{path}/@{file} 2>/dev/null; true",
        link=running_link, path=path, file=INHIBITORS_FILE, sep=_SEPARATOR)
    return Operation("switch inhibitors", command, parse_inhibitors, privileged=False)
