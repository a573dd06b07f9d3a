# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Building systems on a build host (``nixos-rebuild --build-host``): the controller evaluated them;
the closures of their derivations go to the build host in one ``nix copy --derivation``, it builds
them all with one ``nix-store --realise --keep-going`` (its own builders and substituters), and each
host's target later copies its system *from the build host* (``nix copy --from``), so the systems never
enter the controller's store. One round of this per build host, for all its hosts; a system that
fails to build fails its host, with the build host's error blocks for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command, argv, raw
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._transfer import closure_transfer
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.remote_shell import RemoteShell
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.ssh_target import SshTarget
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.system_build import build_error_for


@dataclass
class BuildHostReport:
    built: Dict[str, str] = field(default_factory=dict)  # host -> its system, valid on the build host
    failed: Dict[str, str] = field(default_factory=dict)
    steps: List[str] = field(default_factory=list)  # what ran: copy, realise (for tests and the report)


def valid_command(paths: List[str]) -> Command:
    """Print each of ``paths`` that is valid in the build host's store (one round trip)."""
    return raw(
        'for p in @{paths}; do nix-store --check-validity "$p" >/dev/null 2>&1 && echo "$p"; done; true', paths=paths
    )


def build(
    shell: RemoteShell,
    nix: NixCli,
    builder: SshTarget,
    systems: Dict[str, Tuple[str, str]],
    transfer: closure_transfer.Transfer,
) -> BuildHostReport:
    """Make every ``{host: (drv, out)}`` of ``systems`` valid on the build host."""
    report = BuildHostReport()
    outs = sorted({out for _drv, out in systems.values()})
    have = set(
        shell.check(valid_command(outs), "looking for the systems on the build host", privileged=False).stdout.split()
    )
    missing = {host: (drv, out) for host, (drv, out) in systems.items() if out not in have}
    stderr = ""
    if missing:
        drvs = sorted({drv for drv, _out in missing.values()})
        report.steps.append("copy")
        closure_transfer.push(nix, builder, drvs, transfer, derivation=True, shell=shell)
        report.steps.append("realise")
        realised = shell.run(argv("nix-store", "--realise", "--keep-going", *drvs))
        if realised.rc != 0:
            stderr = realised.stderr
            have |= set(
                shell.check(
                    valid_command(sorted({o for _d, o in missing.values()})),
                    "looking for the systems on the build host",
                    privileged=False,
                ).stdout.split()
            )
        else:
            have |= {out for _drv, out in missing.values()}
    all_drvs = [drv for drv, _out in systems.values()]
    for host, (drv, out) in sorted(systems.items()):
        if out in have:
            report.built[host] = out
        else:
            report.failed[host] = "building %s on the build host %s failed: %s%s" % (
                drv,
                builder.label,
                build_error_for(stderr, drv, all_drvs) or "it gave nothing",
                _log_tail(shell, drv),
            )
    return report


LOG_LINES = 10  # as many as nix build shows of a failed build


def _log_tail(shell: RemoteShell, drv: str) -> str:
    """The last lines of a failed build's log on the build host (``nix-store --read-log``), as
    ``nix build`` shows them; empty when there is none."""
    log = shell.run(argv("nix-store", "--read-log", drv).pipe(argv("tail", "-n", LOG_LINES)), privileged=False)
    lines = [line for line in log.stdout.splitlines() if line.strip()] if log.rc == 0 else []
    return (
        "\n       last %d log lines:\n%s" % (len(lines), "\n".join("       > " + line for line in lines))
        if lines
        else ""
    )
