"""Running the flake inventory plugin the way users do: ansible-inventory on a .flake.yml file."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

BIN = os.path.dirname(sys.executable)
REAL_NIX = "/usr/bin/nix"


def unwrap(value):
    """ansible-inventory prints unsafe values as {"__ansible_unsafe": v}; return plain data."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def nix_counter(directory: Path) -> Path:
    """A directory with a ``nix`` that logs each call, then runs the real one. Returns the log."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "calls.log"
    wrapper = directory / "nix"
    # one line a call, written under a lock: the inventory runs nix processes at once
    wrapper.write_text(
        '#!/bin/sh\n{ flock 9; printf "%%s\\n" "$(echo "$*" | tr "\\n" " ")" >&9; } 9>>%s\n'
        'exec %s "$@"\n' % (log, REAL_NIX)
    )
    wrapper.chmod(0o755)
    log.write_text("")
    return log


def calls(log: Path):
    return [line for line in log.read_text().splitlines() if line.strip()]


def write_inventory(path: Path, **options) -> Path:
    lines = ["plugin: nixfleet.nixos.flake"] + ["%s: %s" % (k, json.dumps(v)) for k, v in options.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def inventory_list(inventory: Path, path_prefix: Optional[Path] = None, extra_env=None, export: bool = False):
    """(returncode, the inventory JSON as printed or None, stderr) of ``ansible-inventory --list``
    (``--export`` too with ``export``: what an AWX inventory update stores)."""
    env = dict(os.environ)
    env["ANSIBLE_INVENTORY_UNPARSED_FAILED"] = "true"
    if path_prefix:
        env["PATH"] = "%s:%s" % (path_prefix, env["PATH"])
    env.update(extra_env or {})
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-inventory"), "-i", str(inventory), "--list"] + (["--export"] if export else []),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        env=env,
        check=False,
    )
    data = json.loads(proc.stdout) if proc.returncode == 0 else None
    return proc.returncode, data, proc.stderr


def in_message(expected: str, message: str) -> bool:
    """``expected`` is in a message Ansible printed, however it wrapped it: before 2.19 warnings are
    wrapped at 79 columns, also inside a path (at its hyphens), so whitespace is compared away."""
    return "".join(expected.split()) in "".join(message.split())


def raw_hostvars(data):
    return data["_meta"]["hostvars"]


def hostvars(data):
    return unwrap(raw_hostvars(data))


def group_hosts(data, group):
    return sorted(data.get(group, {}).get("hosts", []))
