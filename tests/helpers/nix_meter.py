"""A ``nix`` that runs the real one and records, per process, when it ran and its peak memory (the
kernel's ``wait4``), independently of the collection's own accounting: what the memory-bounded
evaluation tests compare with the budget."""

from pathlib import Path
from typing import List, Tuple

SHIM = """#!%(python)s
import os, subprocess, sys, time
start = time.time()
proc = subprocess.Popen([%(nix)r] + sys.argv[1:])
_pid, status, usage = os.wait4(proc.pid, 0)
proc.returncode = os.waitstatus_to_exitcode(status)
with open(%(log)r, "a") as log:
    log.write("%%f %%f %%d\\n" %% (start, time.time(), usage.ru_maxrss * 1024))
sys.exit(proc.returncode)
"""


def metered_nix(directory: Path, real: str, python: str) -> Tuple[Path, Path]:
    """(the shim to give as nix_binary, its log of ``start end peak_bytes`` lines)."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "nix-processes.log"
    shim = directory / "nix"
    shim.write_text(SHIM % {"python": python, "nix": real, "log": str(log)})
    shim.chmod(0o755)
    log.write_text("")
    return shim, log


def processes(log: Path) -> List[Tuple[float, float, int]]:
    return [(float(a), float(b), int(c)) for a, b, c in (line.split() for line in log.read_text().splitlines())]


def peak_together(log: Path) -> int:
    """The largest sum of the peaks of processes that ran at the same time."""
    spans = processes(log)
    return max((sum(rss for s, e, rss in spans if s <= start < e) for start, _e, _r in spans), default=0)
