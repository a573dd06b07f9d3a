# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One change of a host's generation, as a POSIX shell script that runs detached on the target.

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
(activation exit code, or one of the ``RC_*`` codes below) and ``status``.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from enum import Enum
from typing import Optional, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils import audit_log, own_processes
from ansible_collections.nixfleet.nixos.plugins.module_utils.generation_commands import (
    SETS_PROFILE, SETS_RUNNING, activate_command, as_user_command, deploy_rs_activate_command,
    set_profile_command, switch_generation_command)
from ansible_collections.nixfleet.nixos.plugins.module_utils.generations import profile_target
from ansible_collections.nixfleet.nixos.plugins.module_utils.shell import Command, argv, lines, probe_field, raw

LOCK_FILE = "/nix/var/nix/nixfleet-deploy.lock"
WORK_ROOT = "/run/nixfleet"
RUNNING_LINK = "/run/current-system"
NIXOS_LOCK = "/run/nixos/switch-to-configuration.lock"

RC_LOCKED = 75  # the lock was held by someone else for lock_wait seconds
RC_STALE = 76  # the profile changed while we waited for the lock
RC_PROFILE = 77  # nix-env failed
RC_NOOP = 78  # another deploy already did exactly this
RC_NIXOS_LOCKED = 79  # NixOS's switch-to-configuration lock is held


class TxStatus(Enum):
    """The script's verdict, as it writes it to ``status`` (PENDING: none yet, the watchdog waits)."""

    PENDING = ""
    LOCKED = "locked"  # exit RC_LOCKED
    STALE = "stale"  # exit RC_STALE
    PROFILE_FAILED = "profile"  # exit RC_PROFILE
    NOOP = "noop"  # exit RC_NOOP
    NIXOS_LOCKED = "nixos-locked"  # exit RC_NIXOS_LOCKED
    FAILED_RESTORED = "failed-restored"  # activation failed; the previous generation is back
    FAILED_KEPT = "failed-kept"  # activation failed and auto_rollback is off: left as it is
    DONE = "done"  # activated (exit code 0, or 4: some units failed), no watchdog
    CONFIRMED = "confirmed"  # activated and confirmed over a fresh connection
    ROLLED_BACK = "rolled-back"  # activated, unconfirmed: the watchdog restored the previous one

    @classmethod
    def read(cls, text: Optional[str]) -> Optional["TxStatus"]:
        """The status a state line names (PENDING for an empty one, None for an unknown one)."""
        try:
            return cls(text or "")
        except ValueError:
            return None


class Activates(Enum):
    """What activates the profile's new generation."""

    NIXOS = "nixos"  # the system's switch-to-configuration ACTION; /run/current-system must follow
    DEPLOY_RS = "deploy-rs"  # deploy-rs' profiles besides system: the profile's deploy-rs-activate, if any


STATUS_CONFIRMED = TxStatus.CONFIRMED.value
STATUS_DONE = TxStatus.DONE.value
STATUS_FAILED = TxStatus.FAILED_RESTORED.value
STATUS_ROLLED_BACK = TxStatus.ROLLED_BACK.value


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


def _restore_function(tx: Transaction) -> Command:
    """Shell function ``restore``: back to what the controller saw before."""
    body = []
    if tx.action in SETS_PROFILE:
        body.append(raw('  now=$(readlink @{p} 2>/dev/null || true)', p=tx.profile))
        body.append(raw('  if [ "$now" != @{link} ]; then', link=tx.expected_link()))
        if tx.prev_generation is not None:
            body.append(raw('    @{switch} >>"$W/restore" 2>&1',
                            switch=as_user_command(tx.run_as, switch_generation_command(tx.profile, tx.prev_generation))))
            if tx.creates_generation:
                body.append(raw('    gen=${now%-link}; gen=${gen##*-}'))
                body.append(raw('    [ -n "$gen" ] && nix-env -p @{p} --delete-generations "$gen" >>"$W/restore" 2>&1',
                                p=tx.profile))
        else:
            body.append(raw('    rm -f @{p} "$(dirname @{p})/$now"', p=tx.profile))
        body.append(raw("  fi"))
        if tx.activates is Activates.DEPLOY_RS:
            if tx.prev_generation is not None:  # deploy-rs activates the restored generation again
                body.append(raw('  @{activate} >>"$W/restore" 2>&1 9>&-', activate=_activation(tx)))
        elif tx.prev_profile_path:
            body.append(raw('  @{boot} >>"$W/restore" 2>&1 9>&-', boot=activate_command(tx.prev_profile_path, "boot")))
    if tx.sets_running:
        if tx.prev_running:
            body.append(raw('  @{test} >>"$W/restore" 2>&1 9>&-', test=activate_command(tx.prev_running, "test")))
        else:
            body.append(raw("  rm -f @{link}", link=tx.running_link))
    return lines([raw("restore() {")] + body + [raw("  true"), raw("}")])


def _nixos_lock_check() -> Command:
    """Finish NIXOS_LOCKED, the holder (from /proc/locks, by the lock file's inode: the first such
    lock's process that is this host's, ``own_processes``) in ``holder``, when someone holds NixOS's
    lock: nothing has been changed yet."""
    holder = raw(
        "@{ours}; ino=$(stat -c %i @{lock}); pid=; for c in $(awk -v ino=\"$ino\" '$2 == \"FLOCK\" { n = split($6, f, \":\"); "
        "if (f[n] == ino) print $5 }' /proc/locks); do nf_ours \"$c\" @{lock} && { pid=$c; break; }; done; "
        "echo \"process ${pid:-unknown}: $(tr '\\0' ' ' 2>/dev/null < /proc/${pid:-0}/cmdline)\" > \"$W/holder\"",
        lock=NIXOS_LOCK, ours=own_processes.function())
    return raw("if [ -e @{lock} ] && ! flock -n @{lock} true 2>/dev/null; then @{holder}; finish @{status} @{rc}; fi",
               lock=NIXOS_LOCK, holder=holder, status=TxStatus.NIXOS_LOCKED.value, rc=RC_NIXOS_LOCKED)


RC_TIMED_OUT = 124  # coreutils timeout: the activation ran past activation_timeout and was killed


def _activation(tx: Transaction) -> Command:
    """``switch-to-configuration ACTION`` of the system (or its specialisation), or the profile's
    ``deploy-rs-activate`` as its user, within the time limit."""
    if tx.activates is Activates.DEPLOY_RS:
        stc = as_user_command(tx.run_as, deploy_rs_activate_command(tx.profile))
    else:
        stc = activate_command(tx.running_path, tx.action)
    if tx.install_bootloader:
        stc = raw("@{env} @{stc}", env=argv("env", "NIXOS_INSTALL_BOOTLOADER=1"), stc=stc)
    if tx.activation_timeout > 0:
        stc = raw("@{timeout} @{stc}", timeout=argv("timeout", "-k", "10", tx.activation_timeout), stc=stc)
    return stc


def script(tx: Transaction) -> Command:
    """The script (run with ``sh -c``)."""
    if tx.to_generation is not None:
        change = switch_generation_command(tx.profile, tx.to_generation)
    else:
        change = set_profile_command(tx.profile, tx.path)
    change = as_user_command(tx.run_as, change)
    running_ok = (raw('[ "$(readlink @{link} 2>/dev/null)" = @{path} ]', link=tx.running_link, path=tx.running_path)
                  if tx.sets_running else raw("true"))
    profile_done = (raw('[ "$(readlink -f @{p} 2>/dev/null)" = @{path} ]', p=tx.profile, path=tx.path)
                    if tx.action in SETS_PROFILE else raw("true"))
    # The verdict is written before the exit code, so whoever sees the exit code sees the verdict;
    # only the watchdog writes the exit code first and its verdict later.
    finish = raw('echo "$1" > "$W/status"; if [ -n "${2:-}" ]; then echo "$2" > "$W/rc"; fi; exit 0')
    parts = [raw('W=@{w}', w=tx.work_dir), raw('mkdir -p "$W"')]
    if tx.audit_head:
        # Outcomes that changed the host are on record, with the activation's exit code.
        parts.append(audit_log.append_function(tx.audit_head, tx.profile, keep=tx.audit_keep))
        recorded = "|".join((STATUS_DONE, STATUS_CONFIRMED, STATUS_FAILED, STATUS_ROLLED_BACK))
        finish = raw('case "$1" in @{recorded}) audit "$1" "${2:-${arc:-}}";; esac; @{finish}',
                     recorded=raw(recorded), finish=finish)
    owner_file = tx.lock_file + ".owner"
    parts += [
        raw("finish() { @{finish}; }", finish=finish),
        _restore_function(tx),
        raw("exec 9>>@{lock}", lock=tx.lock_file),
        raw('if ! flock -w @{wait} 9; then cat @{owner} > "$W/holder" 2>/dev/null; finish locked @{rc}; fi',
            wait=tx.lock_wait, owner=owner_file, rc=RC_LOCKED),
        raw("echo @{who} > @{owner}", who=tx.owner, owner=owner_file),
        # after our own lock: another deploy of ours has finished by now
        _nixos_lock_check() if tx.activates is Activates.NIXOS else raw(":"),
        raw("if @{running_ok} && @{profile_done}; then finish noop @{rc}; fi",
            running_ok=running_ok, profile_done=profile_done, rc=RC_NOOP),
        raw('if [ "$(readlink @{p} 2>/dev/null || true)" != @{link} ]; then readlink @{p} > "$W/holder" 2>&1; '
            'finish stale @{rc}; fi', p=tx.profile, link=tx.expected_link(), rc=RC_STALE),
    ]
    if tx.action in SETS_PROFILE:
        if tx.run_as:  # a user's profile directory is the user's (as Nix makes per-user/USER)
            change = raw("{ { [ -d @{d} ] || install -d -o @{u} @{d}; } && @{change}; }", d=posixpath.dirname(tx.profile),
                         u=tx.run_as, change=change)
        parts.append(raw('if ! @{change} >"$W/err" 2>&1; then finish profile @{rc}; fi', change=change, rc=RC_PROFILE))
    parts += [
        # 9>&-: services the activation starts must not inherit (and so hold) the lock.
        raw('@{stc} >"$W/out" 2>>"$W/err" </dev/null 9>&-; arc=$?', stc=_activation(tx)),
        raw("if [ $arc -ne 0 ] && [ $arc -ne 4 ] || ! @{running_ok}; then @{restore}[ $arc -eq 0 ] && arc=1; "
            "finish @{failed} $arc; fi", running_ok=running_ok,
            restore=raw("restore; ") if tx.auto_rollback else raw(""),
            failed=STATUS_FAILED if tx.auto_rollback else TxStatus.FAILED_KEPT.value),
    ]
    if tx.confirm_timeout > 0:
        parts += [
            raw(": > @{canary}", canary=tx.canary),
            raw('echo $arc > "$W/rc"'),
            raw("i=0; while [ -e @{canary} ] && [ $i -lt @{ticks} ]; do sleep 0.2; i=$((i + 1)); done",
                canary=tx.canary, ticks=tx.confirm_timeout * 5),
            raw("if [ -e @{canary} ]; then restore; rm -f @{canary}; finish @{back}; fi",
                canary=tx.canary, back=STATUS_ROLLED_BACK),
            raw("finish @{confirmed}", confirmed=STATUS_CONFIRMED),
        ]
    else:
        parts += [raw("finish @{done} $arc", done=STATUS_DONE)]
    return lines(parts + [raw("")])


def launch_command(tx: Transaction, systemd: bool, unit: str) -> Command:
    """Start the script detached, wait for its ``rc`` file, print its output and then its state
    (``status_command``, split off by ``split_launch_output``), exit with ``rc``.

    Only the waiting happens in the ssh session; if that session dies, the script goes on.
    """
    if systemd:
        # From a file: systemd expands ${...} in a unit's command line (the script's own shell
        # expansions would be emptied), and only systemd 254+ can be told not to.
        script_file = tx.work_dir + "/script"
        start = argv("printf", "%s\n", script(tx)).redirect(">", script_file).and_then(
            argv("systemd-run", "-E", "LOCALE_ARCHIVE", "-E", "NIXOS_INSTALL_BOOTLOADER", "--collect",
                 "--no-ask-password", "--quiet", "--unit=%s" % unit, "sh", script_file))
    else:
        # Without sudo's SUDO_COMMAND (this whole command, with the previous system's store path):
        # services the activation starts would inherit it, and Nix keeps every store path named in a
        # process's environment alive (a runtime root), so the old system could never be collected.
        start = raw("{ @{detached} </dev/null >/dev/null 2>&1 & }",
                    detached=argv("env", "-u", "SUDO_COMMAND", "setsid", "sh", "-c", script(tx)))
    return raw("mkdir -p @{w} && @{start} && while [ ! -s @{rc} ]; do sleep 0.1; done; "
               "cat @{out} 2>/dev/null; cat @{err} >&2 2>/dev/null; @{state}; exit $(cat @{rc})",
               w=tx.work_dir, start=start, rc=tx.work_dir + "/rc", out=tx.work_dir + "/out",
               err=tx.work_dir + "/err", state=status_command(tx))


STATE_KEYS = ("nixfleet-status", "nixfleet-holder")


def status_command(tx: Transaction) -> Command:
    """Print ``nixfleet-status<TAB>…`` (empty while the script still runs) and ``nixfleet-holder<TAB>…``."""
    return raw("printf '@{status}\\t%s\\n@{holder}\\t%s\\n' \"$(cat @{status_file} 2>/dev/null)\" "
               "\"$(cat @{holder_file} 2>/dev/null | head -n 1)\"", status=raw(STATE_KEYS[0]), holder=raw(STATE_KEYS[1]),
               status_file=tx.work_dir + "/status", holder_file=tx.work_dir + "/holder")


def parse_status(output: str) -> Tuple[Optional[str], Optional[str]]:
    """(status, holder) from what ``status_command`` printed."""
    return probe_field(output, STATE_KEYS[0]), probe_field(output, STATE_KEYS[1])


def split_launch_output(stdout: str) -> Tuple[str, Optional[str], Optional[str]]:
    """The activation's own output, and the status and holder ``launch_command`` printed after it."""
    own = [line for line in stdout.splitlines(True) if line.partition("\t")[0] not in STATE_KEYS]
    status, holder = parse_status(stdout)
    return "".join(own), status, holder


CONFIRM_DELETED = 0  # the canary was there and is gone
CONFIRM_REFUSED = 4  # the canary is there and could not be deleted (rm's error follows on stderr)
CONFIRM_ABSENT = 3  # no canary (the watchdog already decided, or an earlier attempt deleted it)


def confirm_command(tx: Transaction, wait: float = 5.0, then: Optional[Command] = None) -> Command:
    """Run over a fresh ssh connection: delete the canary (exit ``CONFIRM_*``), wait up to ``wait``
    seconds for the watchdog's verdict, print it (``parse_status`` reads it), remove the work
    directory once it says confirmed, and run ``then`` (e.g. a probe of the new state) — one
    connection for what used to take three. The exit code is the deletion's, whatever ``then`` does."""
    return raw("if [ -e @{c} ]; then if rm -f @{c}; then crc=@{deleted}; else crc=@{refused}; fi; "
               "else crc=@{absent}; fi; i=0; "
               "while [ $crc -ne @{refused} ]; do s=$(cat @{status} 2>/dev/null); "
               "case \"$s\" in @{ok}|@{back}) break;; esac; "
               "[ $i -ge @{ticks} ] && break; sleep 0.1; i=$((i + 1)); done; "
               "printf '@{key}\\t%s\\n' \"${s:-}\"; if [ \"${s:-}\" = @{ok} ]; then rm -rf @{w}; fi; "
               "{ @{then}; }; exit $crc",
               c=tx.canary, w=tx.work_dir, status=tx.work_dir + "/status", ok=STATUS_CONFIRMED,
               back=STATUS_ROLLED_BACK, ticks=int(wait * 10), then=then or raw("true"), key=raw(STATE_KEYS[0]),
               deleted=CONFIRM_DELETED, refused=CONFIRM_REFUSED, absent=CONFIRM_ABSENT)


def cleanup_command(tx: Transaction) -> Command:
    return argv("rm", "-rf", tx.work_dir)
