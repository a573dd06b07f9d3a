"""CONTRIBUTING.md's architecture map matches the tree: it names every module of the core and of the
controller utilities (a renamed or new file must be described where a reader looks for it), and
every folder or file it lists exists."""

import re
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parents[3]


def map_rows() -> List[str]:
    text = (ROOT / "CONTRIBUTING.md").read_text()
    start = text.index("## Architecture map")
    section = text[start : text.index("\n## ", start + 1)]
    return [line for line in section.splitlines() if line.startswith("| `")]


def first_cell_paths(row: str) -> List[str]:
    """``plugins/{action,modules}/`` → plugins/action/, plugins/modules/."""
    paths = []
    for named in re.findall(r"`([^`]+)`", row.split(" | ")[0]):
        brace = re.match(r"(.*)\{([^}]*)\}(.*)", named)
        paths += [brace.group(1) + part + brace.group(3) for part in brace.group(2).split(",")] if brace else [named]
    return paths


def test_every_utility_module_is_in_the_map():
    rows = map_rows()
    for directory in ("module_utils", "plugin_utils"):
        row = next(line for line in rows if line.startswith("| `plugins/%s/` |" % directory))
        named = set(re.findall(r"`([a-z_0-9]+)`", row))
        files = {p.stem for p in (ROOT / "plugins" / directory).glob("*.py") if p.stem != "__init__"}
        assert files, directory
        assert sorted(files - named) == [], directory


def test_every_path_the_map_names_exists():
    paths = [p for row in map_rows() for p in first_cell_paths(row)]
    assert "plugins/action/" in paths and "tests/fleet/" in paths  # the rows were read
    missing = [p for p in paths if not (ROOT / p).exists() or (p.endswith("/") and not (ROOT / p).is_dir())]
    assert missing == []


def test_every_plugin_folder_is_on_the_map():
    paths = {p for row in map_rows() for p in first_cell_paths(row)}
    folders = {"plugins/%s/" % p.name for p in (ROOT / "plugins").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert sorted(folders - paths) == []
