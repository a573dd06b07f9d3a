"""The processes of fleet hosts, as the machine sees them (/proc): children, PID namespaces, SIGKILL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List


def children(pid: int) -> List[int]:
    try:
        text = Path("/proc/%d/task/%d/children" % (pid, pid)).read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def descendants(pid: int) -> List[int]:
    """Every process under ``pid`` (children first, then theirs)."""
    found, todo = [], [pid]
    while todo:
        for child in children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def pid_namespace(pid: int) -> str:
    """The PID namespace of ``pid`` ("" when it is gone)."""
    try:
        return os.readlink("/proc/%d/ns/pid" % pid)
    except OSError:
        return ""


def processes_in(namespace: str) -> List[int]:
    """PIDs (in our namespace) of every process whose PID namespace is ``namespace``."""
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit() and pid_namespace(int(entry)) == namespace]


def kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
