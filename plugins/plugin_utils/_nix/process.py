# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Running commands on the controller, each measured (``wait4``: its peak memory and CPU time)."""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass
from typing import IO, Callable, List, Mapping, Optional, Sequence

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError

INSTALL_HINT = (
    "install Nix on the controller (Debian/Ubuntu: apt-get install nix-bin; "
    "elsewhere: https://nixos.org/download) and make sure 'nix' is on PATH"
)


@dataclass(frozen=True)
class CommandResult:
    """What a command did. ``max_rss``: its peak resident memory in bytes (the largest of it and the
    children it waited for; 0 when not measured); ``cpu``: its user + system CPU seconds."""

    argv: Sequence[str]
    rc: int
    stdout: str
    stderr: str
    max_rss: int = 0
    cpu: float = 0.0

    @property
    def ok(self) -> bool:
        return self.rc == 0


def _drain(stream: IO[str], sink: List[str]) -> None:
    sink.append(stream.read())
    stream.close()


def _drain_lines(stream: IO[str], sink: List[str], on_line: Callable[[str], None]) -> None:
    """Read ``stream`` line by line as it comes, handing each line to ``on_line`` (a progress reader)."""
    for line in stream:
        sink.append(line)
        try:
            on_line(line)
        except Exception:  # pylint: disable=broad-except  # the reader's failure must not stop the draining
            pass
    stream.close()


def _feed(stream: IO[str], text: str) -> None:
    try:
        stream.write(text)
        stream.close()
    except BrokenPipeError:  # the command did not read all of it
        pass


def run(
    argv: Sequence[str],
    env: Optional[Mapping[str, str]] = None,
    stdin: Optional[str] = None,
    timeout: Optional[float] = None,
    on_line: Optional[Callable[[str], None]] = None,
) -> CommandResult:
    """Run ``argv``; ``env`` is added to this process's environment. Never raises on exit codes.
    ``on_line`` gets each line of its stderr as it is written (in a thread of its own).

    The command is reaped with ``wait4``, so the result carries its peak memory and CPU time (what
    the memory-bounded evaluation sizes its chunks by). A missing program raises ``NixError`` that
    says how to install it; a command still running after ``timeout`` seconds is killed and raises.
    """
    full_env = dict(os.environ)
    full_env.update(env or {})
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            universal_newlines=True,
        )
    except FileNotFoundError:
        hint = INSTALL_HINT if os.path.basename(argv[0]).startswith("nix") else "install it"
        raise NixError("%s: command not found; %s" % (argv[0], hint), command=argv)
    stdout: List[str] = []
    stderr: List[str] = []
    workers = [
        threading.Thread(target=_drain, args=(proc.stdout, stdout), daemon=True),
        threading.Thread(target=_drain_lines, args=(proc.stderr, stderr, on_line), daemon=True)
        if on_line is not None
        else threading.Thread(target=_drain, args=(proc.stderr, stderr), daemon=True),
    ]
    if stdin is not None:
        workers.append(threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True))
    timed_out = threading.Event()

    def expire() -> None:
        timed_out.set()
        proc.kill()

    timer = threading.Timer(timeout, expire) if timeout is not None else None
    for worker in workers:
        worker.start()
    if timer:
        timer.start()
    try:
        _pid, status, usage = os.wait4(proc.pid, 0)
    finally:
        if timer:
            timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    for worker in workers:
        worker.join(1.0 if timed_out.is_set() else None)  # a killed command's children may hold its pipes
    out, err = "".join(stdout), "".join(stderr)
    if timed_out.is_set():
        raise NixError("%s timed out after %ss" % (argv[0], timeout), command=argv, stderr=err, stdout=out)
    return CommandResult(
        list(argv), proc.returncode, out, err, max_rss=usage.ru_maxrss * 1024, cpu=usage.ru_utime + usage.ru_stime
    )


def check(result: CommandResult, what: str, host: Optional[str] = None) -> CommandResult:
    """Return ``result`` if it succeeded, else raise ``NixError`` describing ``what`` failed."""
    if not result.ok:
        raise NixError(
            "%s failed" % what, command=result.argv, rc=result.rc, stderr=result.stderr, stdout=result.stdout, host=host
        )
    return result
