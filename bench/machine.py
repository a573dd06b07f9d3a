"""What a benchmark ran on, read from the machine: CPU, memory, OS, kernel and the tools' versions."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path
from typing import List, Optional


def _first_line(argv: List[str]) -> str:
    try:
        out = subprocess.run(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=30, check=False
        ).stdout
    except OSError:
        return "not found"
    return out.strip().splitlines()[0] if out.strip() else "?"


def memory_gib() -> Optional[float]:
    """The machine's memory (MemTotal of /proc/meminfo), None when it does not say."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            return int(line.split()[1]) / 1048576.0
    return None


def os_name() -> str:
    """The PRETTY_NAME of /etc/os-release, "?" without one."""
    if Path("/etc/os-release").exists():
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    return "?"


def machine_description() -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = memory_gib()
    rows = [
        ("date", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())),
        ("CPU", "%s, %d cores" % (cpu, os.cpu_count() or 0)),
        ("memory", "?" if memory is None else "%.1f GiB" % memory),
        ("OS", os_name()),
        ("kernel", platform.release()),
        ("Python", platform.python_version()),
        ("Nix", _first_line(["nix", "--version"])),
        ("Ansible", _first_line(["ansible", "--version"])),
        ("OpenSSH", _first_line(["ssh", "-V"])),
    ]
    return "\n".join("- %s: %s" % row for row in rows)
