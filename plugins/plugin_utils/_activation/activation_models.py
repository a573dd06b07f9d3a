# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""What the activator (``activation``) is asked and what it answers, internal to the collection: how
careful a change is (``Safety``), a switch as asked (``SwitchRequest``), what the switch's probe found
(``SwitchPlan``) and what the change did (``Outcome``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import audit_log, generation_commands as ac
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generations import ProfileState
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction import command as tr

NOT_REQUESTED = "not requested"


@dataclass
class Safety:
    """How careful a change is: magic rollback and the deploy lock."""

    magic_rollback: bool = True
    confirm_timeout: int = 30
    lock_timeout: int = 60
    poll_interval: float = 1.0
    auto_rollback: bool = True  # restore the previous generation when activation fails (deploy-rs autoRollback)
    activation_timeout: int = 0  # kill an activation that runs longer (0: no limit; deploy-rs activationTimeout)
    work_root: str = tr.WORK_ROOT  # where the transaction's files live (deploy-rs tempPath)
    audit_keep: int = audit_log.DEFAULT_KEEP  # records the host's audit log keeps at least


@dataclass
class Outcome:
    """What a switch or rollback did (or, in check mode, would do)."""

    changed: bool
    action: str
    path: str
    previous_path: Optional[str]
    previous_generation: Optional[int]
    generation: Optional[int] = None
    exit_code: Optional[int] = None
    failed_units: bool = False
    inhibited: bool = False  # the live switch was inhibited: the system was made the boot entry instead
    confirmation: str = NOT_REQUESTED
    specialisation: Optional[str] = None
    activated_path: Optional[str] = None  # the specialisation's own toplevel, which then runs
    install_bootloader: bool = False
    stdout: str = ""
    stderr: str = ""
    warnings: List[str] = field(default_factory=list)

    def to_result(self) -> dict:
        return dict(self.__dict__)


def needs_change(state: ProfileState, path: str, action: str, running: Optional[str] = None) -> bool:
    """Would ``action`` of ``path`` change anything? (dry-activate never does.) ``running``: what
    must run instead of ``path`` itself (a specialisation of it)."""
    if action == "dry-activate":
        return False
    running_ok = action not in ac.SETS_RUNNING or state.running_system == (running or path)
    profile_ok = action not in ac.SETS_PROFILE or state.profile_path == path
    return not (running_ok and profile_ok)


@dataclass(frozen=True)
class SwitchRequest:
    """A switch of the host to ``path``, as asked.

    ``on_inhibited``: what to do when NixOS's switch inhibitors refuse a live switch (``fail``, or
    ``boot``: make it the boot entry); ``inhibitors_elsewhere``: the new system's list, from the
    controller's store, for when it is not on the host yet (check mode). ``specialisation``: run
    ``PATH/specialisation/NAME`` (switch and test; the profile, so the boot entry, stays ``path``).
    ``copies``: the caller puts ``path`` on the host when the probe finds it missing (not in check
    mode), so one probe serves the copy and the switch; ``known_here``: the controller's store holds
    ``path`` as a NixOS toplevel, so what the probe could not read before the copy comes from there,
    not from a second probe."""

    path: str
    action: str = "switch"
    check_mode: bool = False
    on_inhibited: str = "fail"
    inhibitors_elsewhere: Optional[str] = None
    specialisation: Optional[str] = None
    install_bootloader: bool = False
    copies: bool = False
    known_here: bool = False


@dataclass(frozen=True)
class SwitchPlan:
    """What the switch's probe found: the host's state before, the probe's output, whether ``path`` is
    there, and whether it came with the caller's copy (then its inhibitors are the controller's)."""

    request: SwitchRequest
    before: ProfileState
    probe_output: str
    present: bool
    copied: bool = False

    @property
    def needs_copy(self) -> bool:
        """Must the caller copy the system to the host before it goes on?"""
        return self.request.copies and not self.present and not self.request.check_mode
