"""Which warnings in Ansible's output are ours and which a dependency printed.

Ours: every ``[WARNING]`` / ``[DEPRECATION WARNING]`` Ansible prints (it warns about what a task,
a plugin or a playbook of ours did), and a Python warning raised from a file of this collection.
A dependency's: a Python warning (``FILE.py:LINE: Category: message`` and the source line Python
echoes under it) raised from a file outside the collection, e.g. cryptography's
``CryptographyDeprecationWarning`` from ansible-core's own ssh-agent code."""

from __future__ import annotations

import dataclasses
import os
import re
from typing import List, Tuple

ANY_WARNING = re.compile(r"\[(DEPRECATION )?WARNING\]|^\s*WARNING:|Deprecation", re.MULTILINE)
PYTHON_WARNING = re.compile(r"^(?P<file>/\S+\.py):(?P<line>\d+): (?P<category>[A-Za-z_]\w*Warning): (?P<message>.*)$")
PACKAGE_DIRS = ("site-packages", "dist-packages")


@dataclasses.dataclass(frozen=True)
class DependencyWarning:
    """A Python warning a dependency printed: its category and where it was raised (package path)."""

    category: str
    origin: str
    message: str

    def __str__(self) -> str:
        return "%s from %s: %s" % (self.category, self.origin, self.message)


def _package_path(path: str) -> str:
    """``ansible/_internal/_ssh/_ssh_agent.py:18`` for a file under site-packages; the path otherwise."""
    parts = path.split(os.sep)
    for marker in PACKAGE_DIRS:
        if marker in parts:
            return "/".join(parts[len(parts) - parts[::-1].index(marker) :])
    return path


def split_warnings(output: str, collection_root: str) -> Tuple[List[str], List[DependencyWarning]]:
    """(lines warning about our code, warnings of dependencies) in ``output``."""
    ours: List[str] = []
    theirs: List[DependencyWarning] = []
    root = os.path.realpath(collection_root) + os.sep
    lines = output.splitlines()
    skip_source_line = False
    for line in lines:
        if skip_source_line and line.startswith(" "):
            skip_source_line = False
            continue
        skip_source_line = False
        python = PYTHON_WARNING.match(line)
        origin = os.path.realpath(python.group("file")) if python else ""
        installed = any(os.sep + d + os.sep in origin for d in PACKAGE_DIRS)  # a venv may sit in the checkout
        if python and (installed or not origin.startswith(root)):
            theirs.append(
                DependencyWarning(
                    python.group("category"),
                    "%s:%s" % (_package_path(python.group("file")), python.group("line")),
                    python.group("message"),
                )
            )
            skip_source_line = True
        elif python or ANY_WARNING.search(line):
            ours.append(line)
    return ours, theirs
