"""CONTRIBUTING.md's architecture map matches the tree: the core and the controller utilities are
private domain packages, each with a row naming every module in it (a renamed or new file must be
described where a reader looks for it), each module says it is internal, and every folder or file
the map lists exists."""

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


UTILITIES = ("module_utils", "plugin_utils")
INTERNAL = "# Internal to nixfleet.nixos: no stable API"


def packages(directory: str) -> List[Path]:
    return sorted(p for p in (ROOT / "plugins" / directory).iterdir() if p.is_dir() and p.name != "__pycache__")


def test_the_utilities_are_private_domain_packages():
    for directory in UTILITIES:
        loose = sorted(p.name for p in (ROOT / "plugins" / directory).glob("*.py") if p.name != "__init__.py")
        assert loose == [], directory
        names = [p.name for p in packages(directory)]
        assert len(names) >= 5 and all(n.startswith("_") for n in names), names
        assert all((ROOT / "plugins" / directory / n / "__init__.py").is_file() for n in names), names


def test_every_utility_module_says_it_is_internal():
    modules = [m for directory in UTILITIES for package in packages(directory) for m in package.glob("*.py")]
    assert len(modules) > 80
    unmarked = [
        str(m.relative_to(ROOT)) for m in modules if INTERNAL not in "".join(m.read_text().splitlines(True)[:6])
    ]
    assert unmarked == []


def test_every_utility_module_is_in_its_package_row():
    rows = map_rows()
    for directory in UTILITIES:
        for package in packages(directory):
            path = "plugins/%s/%s/" % (directory, package.name)
            row = next((line for line in rows if line.startswith("| `%s` |" % path)), "")
            assert row, "%s has no row in the map" % path
            named = set(re.findall(r"`([a-z_0-9]+)`", row.split(" | ", 1)[1]))
            files = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
            assert files, path
            assert sorted(files - named) == [], path


def test_every_path_the_map_names_exists():
    paths = [p for row in map_rows() for p in first_cell_paths(row)]
    assert "plugins/action/" in paths and "tests/fleet/" in paths  # the rows were read
    missing = [p for p in paths if not (ROOT / p).exists() or (p.endswith("/") and not (ROOT / p).is_dir())]
    assert missing == []


def test_every_plugin_folder_is_on_the_map():
    paths = {p for row in map_rows() for p in first_cell_paths(row)}
    folders = {"plugins/%s/" % p.name for p in (ROOT / "plugins").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert sorted(folders - paths) == []
