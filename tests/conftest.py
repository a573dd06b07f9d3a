"""Make the collection importable as ``ansible_collections.nixfleet.nixos`` for every test."""

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

from hypothesis.configuration import set_hypothesis_home_dir

ROOT = Path(__file__).resolve().parents[1]


def collections_root() -> Path:
    """A directory holding ``ansible_collections/nixfleet/nixos`` → this checkout."""
    if ROOT.parent.name == "nixfleet" and ROOT.parent.parent.name == "ansible_collections":
        return ROOT.parents[2]
    base = ROOT / ".collections"
    link = base / "ansible_collections" / "nixfleet" / "nixos"
    if not link.is_symlink():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT)
    return base


COLLECTIONS = collections_root()
sys.path.insert(0, str(COLLECTIONS))
sys.path.insert(0, str(ROOT / "tests" / "helpers"))  # shared test helpers (sops_files)
os.environ["ANSIBLE_COLLECTIONS_PATH"] = str(COLLECTIONS)
from local_nix import NIX_CONFIG  # noqa: E402  (tests/helpers is on the path now)

os.environ.setdefault("NIX_CONFIG", NIX_CONFIG)  # ansible-test units cleans the environment
# Hypothesis keeps caches in a directory of its own (./.hypothesis by default): a temporary one.
HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="nixfleet-hypothesis-")
set_hypothesis_home_dir(HYPOTHESIS_HOME)
atexit.register(shutil.rmtree, HYPOTHESIS_HOME, True)  # also when no pytest session ends (a plain import)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(HYPOTHESIS_HOME, ignore_errors=True)
