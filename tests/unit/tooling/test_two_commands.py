"""The README's two commands (the demo, all the tests) are the project's entry points: scripts that
exist, and the test command is exactly what CI (.ci/run) runs."""

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def readme_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Two commands") :].split("\n## ")[0]
    return [
        re.findall(r"`([^`]+)`", line.rsplit(" | ", 1)[1])[-1]
        for line in section.splitlines()
        if line.startswith("| **")
    ]


def test_the_two_commands_are_scripts_of_the_checkout():
    commands = readme_commands()
    assert commands == ["bash scripts/demo.sh", "bash scripts/test.sh"]
    assert all((ROOT / shlex.split(c)[1]).is_file() for c in commands)


def test_ci_runs_exactly_the_test_command():
    lines = [
        line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    assert lines[-1] == "exec " + readme_commands()[1]
    assert not [line for line in lines[:-1] if "pytest" in line or "scripts/" in line]  # nothing else runs before it
