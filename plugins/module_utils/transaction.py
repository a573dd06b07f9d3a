# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One change of a host's generation, as a POSIX shell script that runs detached on the target.

The script is the unit of safety. It runs in its own session (``setsid``) or transient systemd
unit, so a dropped ssh connection cannot kill it, and it:

1. takes the host's deploy lock (``flock`` on a file under /nix/var/nix), waiting at most
   ``lock_wait`` seconds, and says who holds it when it gives up;
2. checks that the profile is still what the controller saw (another deploy may have run while
   this one waited) — or already what it wants, then it does nothing;
3. sets the profile (``nix-env --set`` or ``--switch-generation``), runs
   ``switch-to-configuration``, and checks that ``/run/current-system`` moved;
4. on failure, restores the previous generation itself (profile, boot entry, running system);
5. with a watchdog (``confirm_timeout`` > 0), creates a canary file and waits for the controller
   to delete it over a *fresh* ssh connection; if it is still there after the timeout, the new
   generation broke remote access (or the controller died), so it restores the previous one;
6. releases the lock only then, after appending the outcome to the host's audit log
   (``audit_log``) when it changed something.

It reports through files in its work directory: ``out``/``err`` (activation output), ``rc``
(activation exit code, or one of the ``RC_*`` codes below) and ``status``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils import audit_log
from ansible_collections.nixfleet.nixos.plugins.module_utils.generation_commands import (
    SETS_PROFILE, SETS_RUNNING, set_profile_command, switch_generation_command)
from ansible_collections.nixfleet.nixos.plugins.module_utils.generations import profile_target
from ansible_collections.nixfleet.nixos.plugins.module_utils.shell import join, probe_field, quote

LOCK_FILE = "/nix/var/nix/nixfleet-deploy.lock"
WORK_ROOT = "/run/nixfleet"
RUNNING_LINK = "/run/current-system"

RC_LOCKED = 75  # the lock was held by someone else for lock_wait seconds
RC_STALE = 76  # the profile changed while we waited for the lock
RC_PROFILE = 77  # nix-env failed
RC_NOOP = 78  # another deploy already did exactly this

STATUS_CONFIRMED = "confirmed"
STATUS_DONE = "done"
STATUS_FAILED = "failed-restored"
STATUS_ROLLED_BACK = "rolled-back"


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

    @property
    def canary(self) -> str:
        return "%s/canary" % self.work_dir

    @property
    def creates_generation(self) -> bool:
        return self.action in SETS_PROFILE and self.to_generation is None

    def expected_link(self) -> str:
        """What ``readlink PROFILE`` must print for the profile to be as the controller saw it."""
        return profile_target(self.profile, self.prev_generation)


def _restore_function(tx: Transaction) -> str:
    """Shell function ``restore``: back to what the controller saw before."""
    p = quote(tx.profile)
    lines = ["restore() {"]
    if tx.action in SETS_PROFILE:
        lines.append('  now=$(readlink %s 2>/dev/null || true)' % p)
        lines.append('  if [ "$now" != %s ]; then' % quote(tx.expected_link()))
        if tx.prev_generation is not None:
            lines.append("    %s >>\"$W/restore\" 2>&1" % switch_generation_command(tx.profile, tx.prev_generation))
            if tx.creates_generation:
                lines.append('    gen=${now%%-link}; gen=${gen##*-}')
                lines.append('    [ -n "$gen" ] && nix-env -p %s --delete-generations "$gen" >>"$W/restore" 2>&1' % p)
        else:
            lines.append('    rm -f %s "$(dirname %s)/$now"' % (p, p))
        lines.append("  fi")
        if tx.prev_profile_path:
            lines.append("  %s >>\"$W/restore\" 2>&1 9>&-"
                         % join([tx.prev_profile_path + "/bin/switch-to-configuration", "boot"]))
    if tx.action in SETS_RUNNING:
        if tx.prev_running:
            lines.append("  %s >>\"$W/restore\" 2>&1 9>&-"
                         % join([tx.prev_running + "/bin/switch-to-configuration", "test"]))
        else:
            lines.append("  rm -f %s" % quote(tx.running_link))
    lines.append("  true")
    lines.append("}")
    return "\n".join(lines)


def script(tx: Transaction) -> str:
    """The script (run with ``sh -c``)."""
    p = quote(tx.profile)
    if tx.to_generation is not None:
        change = switch_generation_command(tx.profile, tx.to_generation)
    else:
        change = set_profile_command(tx.profile, tx.path)
    running_ok = ('[ "$(readlink %s 2>/dev/null)" = %s ]' % (quote(tx.running_link), quote(tx.path))
                  if tx.action in SETS_RUNNING else "true")
    profile_done = ('[ "$(readlink -f %s 2>/dev/null)" = %s ]' % (p, quote(tx.path))
                    if tx.action in SETS_PROFILE else "true")
    # The verdict is written before the exit code, so whoever sees the exit code sees the verdict;
    # only the watchdog writes the exit code first and its verdict later.
    finish = 'echo "$1" > "$W/status"; if [ -n "${2:-}" ]; then echo "$2" > "$W/rc"; fi; exit 0'
    parts = ["W=%s" % quote(tx.work_dir), "mkdir -p \"$W\""]
    if tx.audit_head:
        # Outcomes that changed the host are on record, with the activation's exit code.
        parts.append(audit_log.append_function(tx.audit_head, tx.profile))
        recorded = "|".join((STATUS_DONE, STATUS_CONFIRMED, STATUS_FAILED, STATUS_ROLLED_BACK))
        finish = 'case "$1" in %s) audit "$1" "${2:-${arc:-}}";; esac; %s' % (recorded, finish)
    parts += [
        "finish() { %s; }" % finish,
        _restore_function(tx),
        "exec 9>>%s" % quote(tx.lock_file),
        "if ! flock -w %d 9; then cat %s.owner > \"$W/holder\" 2>/dev/null; finish locked %d; fi"
        % (tx.lock_wait, quote(tx.lock_file), RC_LOCKED),
        "echo %s > %s.owner" % (quote(tx.owner), quote(tx.lock_file)),
        "if %s && %s; then finish noop %d; fi" % (running_ok, profile_done, RC_NOOP),
        "if [ \"$(readlink %s 2>/dev/null || true)\" != %s ]; then readlink %s > \"$W/holder\" 2>&1; "
        "finish stale %d; fi" % (p, quote(tx.expected_link()), p, RC_STALE),
    ]
    if tx.action in SETS_PROFILE:
        parts.append("if ! %s >\"$W/err\" 2>&1; then finish profile %d; fi" % (change, RC_PROFILE))
    stc = join([tx.path + "/bin/switch-to-configuration", tx.action])
    parts += [
        # 9>&-: services the activation starts must not inherit (and so hold) the lock.
        "%s >\"$W/out\" 2>>\"$W/err\" </dev/null 9>&-; arc=$?" % stc,
        "if [ $arc -ne 0 ] && [ $arc -ne 4 ] || ! %s; then restore; [ $arc -eq 0 ] && arc=1; "
        "finish %s $arc; fi" % (running_ok, STATUS_FAILED),
    ]
    if tx.confirm_timeout > 0:
        ticks = tx.confirm_timeout * 5
        parts += [
            ": > %s" % quote(tx.canary),
            "echo $arc > \"$W/rc\"",
            "i=0; while [ -e %s ] && [ $i -lt %d ]; do sleep 0.2; i=$((i + 1)); done" % (quote(tx.canary), ticks),
            "if [ -e %s ]; then restore; rm -f %s; finish %s; fi"
            % (quote(tx.canary), quote(tx.canary), STATUS_ROLLED_BACK),
            "finish %s" % STATUS_CONFIRMED,
        ]
    else:
        parts += ["finish %s $arc" % STATUS_DONE]
    return "\n".join(parts) + "\n"


def launch_command(tx: Transaction, systemd: bool, unit: str) -> str:
    """Start the script detached, wait for its ``rc`` file, print its output and then its state
    (``status_command``, split off by ``split_launch_output``), exit with ``rc``.

    Only the waiting happens in the ssh session; if that session dies, the script goes on.
    """
    body = quote(script(tx))
    if systemd:
        start = join(["systemd-run", "-E", "LOCALE_ARCHIVE", "-E", "NIXOS_INSTALL_BOOTLOADER", "--collect",
                      "--no-ask-password", "--quiet", "--unit=%s" % unit, "sh", "-c"]) + " " + body
    else:
        # Without sudo's SUDO_COMMAND (this whole command, with the previous system's store path):
        # services the activation starts would inherit it, and Nix keeps every store path named in a
        # process's environment alive (a runtime root), so the old system could never be collected.
        start = "{ env -u SUDO_COMMAND setsid sh -c %s </dev/null >/dev/null 2>&1 & }" % body
    w = quote(tx.work_dir)
    return ("mkdir -p %(w)s && %(start)s && while [ ! -s %(w)s/rc ]; do sleep 0.1; done; "
            "cat %(w)s/out 2>/dev/null; cat %(w)s/err >&2 2>/dev/null; %(state)s; exit $(cat %(w)s/rc)"
            % {"w": w, "start": start, "state": status_command(tx)})


STATE_KEYS = ("nixfleet-status", "nixfleet-holder")


def status_command(tx: Transaction) -> str:
    """Print ``nixfleet-status<TAB>…`` (empty while the script still runs) and ``nixfleet-holder<TAB>…``."""
    w = quote(tx.work_dir)
    return ("printf '%s\\t%%s\\n%s\\t%%s\\n' \"$(cat %s/status 2>/dev/null)\" \"$(cat %s/holder 2>/dev/null | head -n 1)\""
            % (STATE_KEYS[0], STATE_KEYS[1], w, w))


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


def confirm_command(tx: Transaction, wait: float = 5.0, then: str = "true") -> str:
    """Run over a fresh ssh connection: delete the canary (exit ``CONFIRM_*``), wait up to ``wait``
    seconds for the watchdog's verdict, print it (``parse_status`` reads it), remove the work
    directory once it says confirmed, and run ``then`` (e.g. a probe of the new state) — one
    connection for what used to take three. The exit code is the deletion's, whatever ``then`` does."""
    c, w = quote(tx.canary), quote(tx.work_dir)
    return ("if [ -e %(c)s ]; then if rm -f %(c)s; then crc=%(deleted)d; else crc=%(refused)d; fi; "
            "else crc=%(absent)d; fi; i=0; "
            "while [ $crc -ne %(refused)d ]; do s=$(cat %(w)s/status 2>/dev/null); "
            "case \"$s\" in %(ok)s|%(back)s) break;; esac; "
            "[ $i -ge %(ticks)d ] && break; sleep 0.1; i=$((i + 1)); done; "
            "printf '%(key)s\\t%%s\\n' \"${s:-}\"; if [ \"${s:-}\" = %(ok)s ]; then rm -rf %(w)s; fi; "
            "{ %(then)s; }; exit $crc"
            % {"c": c, "w": w, "ok": STATUS_CONFIRMED, "back": STATUS_ROLLED_BACK, "ticks": int(wait * 10),
               "then": then, "key": STATE_KEYS[0], "deleted": CONFIRM_DELETED, "refused": CONFIRM_REFUSED,
               "absent": CONFIRM_ABSENT})


def cleanup_command(tx: Transaction) -> str:
    return join(["rm", "-rf", tx.work_dir])
