# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""The ``--diff`` of a switch: ``nix store diff-closures`` between the running and the new system."""

from __future__ import annotations

import re
from typing import Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generation_commands import diff_closures_command
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.remote_shell import RemoteShell


DRV_SUFFIX = re.compile(r"\.drv(?=[\s,]|$)", re.MULTILINE)


def versions_without_drv(diff: str) -> str:
    """``diff-closures`` of two derivations: newer Nix (seen with 2.34) keeps ``.drv`` in each version
    (``1.drv → 2.drv``), 2.8 does not; the diff reads the same on both without it."""
    return DRV_SUFFIX.sub("", diff)


def closure_diff(
    shell: RemoteShell, cli: NixCli, before: Optional[str], after: str, after_drv: Optional[str], after_on_target: bool
) -> str:
    """The closure difference, computed where both sides exist.

    On the target when the new system is already there (real closure, with sizes); otherwise,
    as in check mode, on the controller between the two systems' derivations (the versions
    that change, before anything is built).
    """
    if not before:
        return "no system is running yet"
    if after_on_target:
        result = shell.run(diff_closures_command(before, after), privileged=False)
        if result.rc == 0:
            return result.stdout or "(the closures have the same packages)\n"
    if not after_drv:
        return "(no closure diff: %s is not on the target and its derivation is unknown)\n" % after
    try:
        before_drv = (cli.path_info([before]).get(before) or {}).get("deriver")
        if not before_drv:
            return "(no closure diff: the controller does not have the running system %s)\n" % before
        return "derivations (not built in check mode):\n" + versions_without_drv(
            cli.diff_closures(before_drv, after_drv)
        )
    except NixError as exc:
        return "(no closure diff: %s)\n" % exc
