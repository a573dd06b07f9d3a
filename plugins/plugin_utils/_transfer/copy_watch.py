# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Running ``nix copy`` on the controller so that a copy that stops making progress ends, instead
of hanging until Ansible's own timeout.

Progress is anything the copy does: a line on its stderr (Nix's ``internal-json`` log: a path
begun or sent, a download the target's daemon reports while it substitutes; the copy lock's
wrapper on the target saying it still waits), or bytes it reads or writes (``/proc/PID/io`` of the
``nix`` process: a large path streaming to the target, on a Linux controller). A target whose Nix
stops reading (a stopped or stuck daemon) blocks Nix's writes, and then nothing moves. After
``stall_timeout`` seconds of that, the copy's process group (nix and its ssh) is ended: SIGTERM,
then SIGKILL.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional, Sequence, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._progress.copy_progress import CopyLog
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.process import INSTALL_HINT, CommandResult

TICK = 0.5  # seconds between looks at the process's I/O
GRACE = 2.0  # seconds between SIGTERM and SIGKILL


@dataclass
class WatchedCopy:
    result: CommandResult
    log: CopyLog = field(default_factory=CopyLog)
    stalled: bool = False
    written: Optional[int] = None  # bytes the nix process wrote (None: the controller cannot tell)


def _io(pid: int) -> Optional[Tuple[int, int]]:
    """(bytes read, bytes written) by ``pid`` so far (Linux ``/proc/PID/io``; None elsewhere)."""
    try:
        with open("/proc/%d/io" % pid) as io:
            fields = dict(line.split(":", 1) for line in io.read().splitlines() if ":" in line)
        return int(fields["rchar"]), int(fields["wchar"])
    except (OSError, KeyError, ValueError):
        return None


def run(
    argv: Sequence[str],
    env: Optional[Mapping[str, str]] = None,
    stall_timeout: int = 0,
    log: Optional[CopyLog] = None,
    feed: Optional[Callable[[str], None]] = None,
) -> WatchedCopy:
    """Run ``argv`` (a ``nix copy`` with ``--log-format internal-json``); ``stall_timeout`` seconds
    without progress end it (0: never). Never raises on exit codes. Its stderr lines go to ``feed``
    (default: ``log.feed``; a live progress reader feeds ``log`` itself)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise NixError("%s: command not found; %s" % (argv[0], INSTALL_HINT), command=argv)
    watched = WatchedCopy(CommandResult(list(argv), 0, "", ""), log if log is not None else CopyLog())
    try:
        stdout = _watch(proc, watched, stall_timeout, feed or watched.log.feed)
    except BaseException:
        _end(proc)
        raise
    finally:
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    if watched.stalled:
        _end(proc)
    watched.result = CommandResult(list(argv), proc.wait(), stdout, watched.log.stderr)
    return watched


def _watch(proc: subprocess.Popen, watched: WatchedCopy, stall_timeout: int, feed: Callable[[str], object]) -> str:
    """Read the copy's output until it closes it or stalls; returns its stdout."""
    stdout, pending = [], b""
    last_io, last_progress, streams = _io(proc.pid), time.monotonic(), 2
    if proc.stdout is None or proc.stderr is None:
        raise AssertionError("nix copy was started without pipes")
    out = proc.stdout.fileno()
    with selectors.DefaultSelector() as selector:
        selector.register(out, selectors.EVENT_READ)
        selector.register(proc.stderr.fileno(), selectors.EVENT_READ)
        while streams:
            for key, _events in selector.select(TICK):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fd)
                    streams -= 1
                    continue
                last_progress = time.monotonic()
                if key.fd == out:
                    stdout.append(chunk)
                    continue
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    feed(line.decode("utf-8", "replace"))
            now_io = _io(proc.pid)
            if now_io is not None:
                watched.written = watched.log.written = now_io[1]
                if now_io != last_io:
                    last_io, last_progress = now_io, time.monotonic()
            if stall_timeout > 0 and time.monotonic() - last_progress > stall_timeout:
                watched.stalled = True
                break
    if pending:
        feed(pending.decode("utf-8", "replace"))
    return b"".join(stdout).decode("utf-8", "replace")


def _end(proc: subprocess.Popen) -> None:
    """SIGTERM the copy's process group (nix and its ssh), then SIGKILL whatever of it is left after
    GRACE seconds. nix is reaped only then: until it is, its PID (the group's id) cannot be reused."""
    _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + GRACE
    while time.monotonic() < deadline and not _exited(proc.pid):
        time.sleep(0.05)
    _signal_group(proc, signal.SIGKILL)
    proc.wait()


def _exited(pid: int) -> bool:
    """Has child ``pid`` exited (without reaping it)?"""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    if proc.returncode is not None:  # reaped: its id may belong to someone else by now
        return
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class CopyStalled(NixError):
    """A copy that made no progress for its stall timeout and was ended (``watched`` says how far it got)."""

    def __init__(self, what: str, watched: WatchedCopy, seconds: int, host: Optional[str] = None) -> None:
        super().__init__(
            "%s made no progress for %d s and was stopped" % (what, seconds),
            command=watched.result.argv,
            rc=watched.result.rc,
            stderr=watched.result.stderr,
            host=host,
        )
        self.watched = watched
        self.seconds = seconds
