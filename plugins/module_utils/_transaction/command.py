# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""The commands of one change of a host's generation (internal to the collection): ``deploy.sh``, the
POSIX shell script that runs detached on the target, given its inputs as ``name=value`` words quoted
by ``argv()``, and the commands that launch it, read its state, confirm it and clean up after it.

The script is the unit of safety. It runs in its own session (``setsid``) or transient systemd
unit, so a dropped ssh connection cannot kill it, and it:

1. takes the host's deploy lock (``flock`` on a file under /nix/var/nix), waiting at most
   ``lock_wait`` seconds, and says who holds it when it gives up;
2. then refuses to go on while NixOS's own lock (``/run/nixos/switch-to-configuration.lock``) is held,
   naming its holder: ``switch-to-configuration`` would fail on it half-way (deploy-rs#390: a
   crashed activation whose service inherited it keeps it held);
3. checks that the profile is still what the controller saw (another deploy may have run while
   this one waited) — or already what it wants, then it does nothing;
4. sets the profile (``nix-env --set`` or ``--switch-generation``), runs
   ``switch-to-configuration``, and checks that ``/run/current-system`` moved;
5. on failure, restores the previous generation itself (profile, boot entry, running system);
6. with a watchdog (``confirm_timeout`` > 0), creates a canary file and waits for the controller
   to delete it over a *fresh* ssh connection; if it is still there after the timeout, the new
   generation broke remote access (or the controller died), so it restores the previous one;
7. releases the lock only then, after appending the outcome to the host's audit log
   (``audit_log``) when it changed something, rotating the log first once it holds ``audit_keep``
   records (under the lock: no other deploy writes it meanwhile).

A deploy-rs profile besides ``system`` (``Activates.DEPLOY_RS``) gets the same script, but step 2
is left out, step 4 runs the profile's ``deploy-rs-activate`` (as the profile's user) instead and no
running system is checked, and step 5 activates the restored generation again, as deploy-rs does.

It reports through files in its work directory: ``out``/``err`` (activation output), ``rc``
(activation exit code, or its verdict's own, ``protocol.Verdict``) and ``status`` (the verdict's word).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import List, Optional, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import audit_log
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote import own_processes
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.account_name import is_account_name
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generation_commands import (
    DEPLOY_RS_ACTIVATE,
    NOTHING_TO_ACTIVATE,
    SETS_PROFILE,
    SETS_RUNNING,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generations import profile_target
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import (
    Command,
    argv,
    lines,
    probe_field,
    raw,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction.protocol import STATE_KEYS, Deletion, Verdict

LOCK_FILE = "/nix/var/nix/nixfleet-deploy.lock"
WORK_ROOT = "/run/nixfleet"
RUNNING_LINK = "/run/current-system"
NIXOS_LOCK = "/run/nixos/switch-to-configuration.lock"
SCRIPT_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "deploy.sh")
SCRIPT_NAME = "nixfleet-tx"  # the script's $0


class Activates(Enum):
    """What activates the profile's new generation."""

    NIXOS = "nixos"  # the system's switch-to-configuration ACTION; /run/current-system must follow
    DEPLOY_RS = "deploy-rs"  # deploy-rs' profiles besides system: the profile's deploy-rs-activate, if any


@dataclass(frozen=True)
class Transaction:
    """Everything the script needs to know, decided by the controller from the host's state."""

    path: str
    action: str
    profile: str
    work_dir: str
    owner: str
    prev_generation: Optional[int] = None
    prev_profile_path: Optional[str] = None
    prev_running: Optional[str] = None
    to_generation: Optional[int] = None  # a rollback: switch to this generation instead of --set
    confirm_timeout: int = 0
    lock_wait: int = 60
    lock_file: str = LOCK_FILE
    running_link: str = RUNNING_LINK
    audit_head: str = ""  # audit_log.record_head: the outcome is appended to the host's audit log
    audit_keep: int = audit_log.DEFAULT_KEEP  # records the audit log keeps at least (it rotates past them)
    activate_path: str = ""  # what switch-to-configuration runs from (a specialisation), default ``path``
    activation_timeout: int = 0  # seconds switch-to-configuration may take (0: no limit), then it is killed
    auto_rollback: bool = True  # restore the previous generation when activation fails
    install_bootloader: bool = False  # NIXOS_INSTALL_BOOTLOADER=1 for the activation
    activates: Activates = Activates.NIXOS
    run_as: str = ""  # DEPLOY_RS: the profile's user, who sets and activates it (root runs the script)

    @property
    def running_path(self) -> str:
        """What /run/current-system must point at once activated."""
        return self.activate_path or self.path

    @property
    def canary(self) -> str:
        return "%s/canary" % self.work_dir

    @property
    def sets_running(self) -> bool:
        """Does the activation move /run/current-system (a NixOS system's switch or test)?"""
        return self.activates is Activates.NIXOS and self.action in SETS_RUNNING

    @property
    def creates_generation(self) -> bool:
        return self.action in SETS_PROFILE and self.to_generation is None

    def expected_link(self) -> str:
        """What ``readlink PROFILE`` must print for the profile to be as the controller saw it."""
        return profile_target(self.profile, self.prev_generation)


@lru_cache(maxsize=1)
def _script_file() -> str:
    with open(SCRIPT_FILE, encoding="utf-8") as script_file:
        return script_file.read()


def script_text() -> Command:
    """The script's text: the shared shell functions it calls, then ``deploy.sh`` — shell code written
    by hand, the one raw piece of the transaction (it has no ``@{}`` holes: its inputs are arguments)."""
    return lines([own_processes.function(), audit_log.append_function(), raw(_script_file())])


def _flag(value: bool) -> str:
    return "1" if value else ""


def arguments(tx: Transaction) -> List[str]:
    """The script's inputs, each one ``name=value`` word (``argv()`` quotes them; deploy.sh reads them)."""
    run_as = "" if not tx.run_as or tx.run_as == "root" else tx.run_as
    if run_as and not is_account_name(run_as):
        raise ValueError("%r is not a user name" % (run_as,))
    fields = [
        ("work_dir", tx.work_dir),
        ("lock_file", tx.lock_file),
        ("lock_wait", tx.lock_wait),
        ("owner", tx.owner),
        ("nixos_lock", NIXOS_LOCK if tx.activates is Activates.NIXOS else ""),
        ("profile", tx.profile),
        ("path", tx.path),
        ("running_path", tx.running_path),
        ("running_link", tx.running_link),
        ("sets_profile", _flag(tx.action in SETS_PROFILE)),
        ("sets_running", _flag(tx.sets_running)),
        ("creates_generation", _flag(tx.creates_generation)),
        ("expected_link", tx.expected_link()),
        ("to_generation", "" if tx.to_generation is None else tx.to_generation),
        ("run_as", run_as),
        ("profile_owner", tx.run_as),
        ("prev_generation", "" if tx.prev_generation is None else tx.prev_generation),
        ("prev_profile_path", tx.prev_profile_path or ""),
        ("prev_running", tx.prev_running or ""),
        ("activates", tx.activates.value),
        ("action", tx.action),
        ("install_bootloader", _flag(tx.install_bootloader)),
        ("activation_timeout", max(tx.activation_timeout, 0)),
        ("auto_rollback", _flag(tx.auto_rollback)),
        ("confirm_timeout", max(tx.confirm_timeout, 0)),
        ("nothing_to_activate", NOTHING_TO_ACTIVATE),
        ("deploy_rs_activate", DEPLOY_RS_ACTIVATE),
        ("audit", _flag(bool(tx.audit_head))),
    ]
    if tx.audit_head:
        fields += [
            ("audit_head", tx.audit_head),
            ("audit_profile", tx.profile),
            ("audit_log", audit_log.AUDIT_LOG),
            ("audit_keep", audit_log.check_keep(tx.audit_keep)),
        ]
    return ["%s=%s" % (name, value) for name, value in fields]


def script(tx: Transaction) -> Command:
    """The script with its inputs set (``set -- ARGS``, each quoted by ``argv()``), as one text: what a
    transient systemd unit runs from a file."""
    return lines([argv("set", "--", *arguments(tx)), script_text(), raw("")])


def launch_command(tx: Transaction, systemd: bool, unit: str) -> Command:
    """Start the script detached, wait for its ``rc`` file, print its output and then its state
    (``status_command``, split off by ``split_launch_output``), exit with ``rc``.

    Only the waiting happens in the ssh session; if that session dies, the script goes on.
    """
    if systemd:
        # From a file: systemd expands ${...} in a unit's command line (the script's own shell
        # expansions would be emptied), and only systemd 254+ can be told not to.
        script_file = tx.work_dir + "/script"
        start = (
            argv("printf", "%s", script(tx))
            .redirect(">", script_file)
            .and_then(
                argv(
                    "systemd-run",
                    "-E",
                    "LOCALE_ARCHIVE",
                    "-E",
                    "NIXOS_INSTALL_BOOTLOADER",
                    "--collect",
                    "--no-ask-password",
                    "--quiet",
                    "--unit=%s" % unit,
                    "sh",
                    script_file,
                )
            )
        )
    else:
        # Without sudo's SUDO_COMMAND (this whole command, with the previous system's store path):
        # services the activation starts would inherit it, and Nix keeps every store path named in a
        # process's environment alive (a runtime root), so the old system could never be collected.
        start = raw(
            "{ @{detached} </dev/null >/dev/null 2>&1 & }",
            detached=argv(
                "env", "-u", "SUDO_COMMAND", "setsid", "sh", "-c", script_text(), SCRIPT_NAME, *arguments(tx)
            ),
        )
    return raw(
        "mkdir -p @{w} && @{start} && while [ ! -s @{rc} ]; do sleep 0.1; done; "
        "cat @{out} 2>/dev/null; cat @{err} >&2 2>/dev/null; @{state}; exit $(cat @{rc})",
        w=tx.work_dir,
        start=start,
        rc=tx.work_dir + "/rc",
        out=tx.work_dir + "/out",
        err=tx.work_dir + "/err",
        state=status_command(tx),
    )


def status_command(tx: Transaction) -> Command:
    """Print ``nixfleet-status<TAB>…`` (empty while the script still runs) and ``nixfleet-holder<TAB>…``."""
    return raw(
        "printf '@{status}\\t%s\\n@{holder}\\t%s\\n' \"$(cat @{status_file} 2>/dev/null)\" "
        '"$(cat @{holder_file} 2>/dev/null | head -n 1)"',
        status=raw(STATE_KEYS[0]),
        holder=raw(STATE_KEYS[1]),
        status_file=tx.work_dir + "/status",
        holder_file=tx.work_dir + "/holder",
    )


def parse_status(output: str) -> Tuple[Optional[str], Optional[str]]:
    """(status, holder) from what ``status_command`` printed."""
    return probe_field(output, STATE_KEYS[0]), probe_field(output, STATE_KEYS[1])


def split_launch_output(stdout: str) -> Tuple[str, Optional[str], Optional[str]]:
    """The activation's own output, and the status and holder ``launch_command`` printed after it."""
    own = [line for line in stdout.splitlines(True) if line.partition("\t")[0] not in STATE_KEYS]
    status, holder = parse_status(stdout)
    return "".join(own), status, holder


def confirm_command(tx: Transaction, wait: float = 5.0, then: Optional[Command] = None) -> Command:
    """Run over a fresh ssh connection: delete the canary (exit ``Deletion``'s code), wait up to ``wait``
    seconds for the watchdog's verdict, print it (``parse_status`` reads it), remove the work
    directory once it says confirmed, and run ``then`` (e.g. a probe of the new state) — one
    connection for what used to take three. The exit code is the deletion's, whatever ``then`` does."""
    return raw(
        "if [ -e @{c} ]; then if rm -f @{c}; then crc=@{deleted}; else crc=@{refused}; fi; "
        "else crc=@{absent}; fi; i=0; "
        "while [ $crc -ne @{refused} ]; do s=$(cat @{status} 2>/dev/null); "
        'case "$s" in @{ok}|@{back}) break;; esac; '
        "[ $i -ge @{ticks} ] && break; sleep 0.1; i=$((i + 1)); done; "
        'printf \'@{key}\\t%s\\n\' "${s:-}"; if [ "${s:-}" = @{ok} ]; then rm -rf @{w}; fi; '
        "{ @{then}; }; exit $crc",
        c=tx.canary,
        w=tx.work_dir,
        status=tx.work_dir + "/status",
        ok=Verdict.CONFIRMED.word,
        back=Verdict.ROLLED_BACK.word,
        ticks=int(wait * 10),
        then=then or raw("true"),
        key=raw(STATE_KEYS[0]),
        deleted=Deletion.DELETED.code,
        refused=Deletion.REFUSED.code,
        absent=Deletion.ABSENT.code,
    )


def cleanup_command(tx: Transaction) -> Command:
    return argv("rm", "-rf", tx.work_dir)
