# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Activating a profile the way deploy-rs does for profiles other than ``system``: after the profile
is set, its ``deploy-rs-activate`` (what ``deploy-rs.lib.<system>.activate.custom`` writes) runs with
``PROFILE`` in its environment, as the task's user (the profile's ``user``, through become). When it
fails, the profile goes back to the generation it had and that generation is activated again
(deploy-rs ``autoRollback``), and the task fails saying both.
"""

from __future__ import annotations

from typing import Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils.generation_commands import switch_generation_command
from ansible_collections.nixfleet.nixos.plugins.module_utils.shell import Command, raw
from ansible_collections.nixfleet.nixos.plugins.plugin_utils.remote_shell import RemoteShell

SCRIPT = "deploy-rs-activate"
NOTHING_TO_RUN = "nixfleet: no deploy-rs-activate"


def activation_command(profile: str) -> Command:
    """Run ``PROFILE/deploy-rs-activate`` with ``PROFILE`` set; say so when the profile has none."""
    return raw("if [ -x @{script} ]; then PROFILE=@{profile} @{script}; else echo @{none}; fi",
               script="%s/%s" % (profile, SCRIPT), profile=profile, none=NOTHING_TO_RUN)


def activate(shell: RemoteShell, profile: str, previous: Optional[int], auto_rollback: bool = True) -> bool:
    """Activate the profile as it now is; True when it had an activation script. On failure, roll back
    to generation ``previous`` (when there was one and ``auto_rollback``) and raise ``NixError``."""
    ran = shell.run(activation_command(profile))
    if ran.rc == 0:
        return NOTHING_TO_RUN not in ran.stdout
    what = "activation of %s failed (exit code %d)" % (profile, ran.rc)
    if not auto_rollback or previous is None:
        left = "left as it is (auto rollback is off)" if previous is not None else "it had no generation before"
        raise NixError("%s; %s" % (what, left), rc=ran.rc, stderr=ran.stderr, stdout=ran.stdout, host=shell.label)
    back = shell.run(switch_generation_command(profile, previous).and_then(activation_command(profile)))
    outcome = ("rolled back to generation %d and activated it again" % previous if back.rc == 0 else
               "rolling back to generation %d failed too (exit code %d: %s)" % (previous, back.rc, back.stderr.strip()))
    raise NixError("%s; %s" % (what, outcome), rc=ran.rc, stderr=ran.stderr, stdout=ran.stdout, host=shell.label,
                   rolled_back=back.rc == 0)
