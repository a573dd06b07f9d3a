"""Every Python environment the scripts create is installed from a hash lock that agrees with its
requirements (tests/requirements/*.in), and the running one holds exactly what its lock lists.

A lock is ``tests/requirements/locks/ENV-pyX.Y.txt``, made from ``ENV.in`` by ``bash scripts/lock.sh``
(uv pip compile --generate-hashes); scripts/setup.sh installs the one for its Python with pip
``--require-hashes`` and records which in ``<venv>/nixfleet-lock``."""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[3]
REQUIREMENTS = ROOT / "tests" / "requirements"
LOCKS = REQUIREMENTS / "locks"
LOCK_NAME = re.compile(r"^(?P<env>.+)-py(?P<python>\d+\.\d+)\.txt$")
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(?P<version>[^\s\\;]+)")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}\b")
INCLUDED_ONLY = {"tools"}  # .in files that only other .in files include (-r)
VENV_OWN = {"pip", "setuptools"}  # what `python -m venv` puts there before the lock is installed


def read_in(path: Path) -> List[Requirement]:
    """The requirements of an .in file, following ``-r`` includes."""
    found: List[Requirement] = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found.extend(read_in(path.parent / line[3:].strip()))
        elif line:
            found.append(Requirement(line))
    return found


def read_lock(path: Path) -> Dict[str, Tuple[str, int]]:
    """name -> (version, number of sha256 hashes) of a lock's entries."""
    entries: Dict[str, Tuple[str, int]] = {}
    current = ""
    for line in path.read_text().splitlines():
        pin = PIN.match(line)
        if pin:
            current = canonicalize_name(pin.group("name"))
            assert current not in entries, "%s lists %s twice" % (path.name, current)
            entries[current] = (pin.group("version"), 0)
        elif current and HASH.search(line):
            version, hashes = entries[current]
            entries[current] = (version, hashes + len(HASH.findall(line)))
        elif line.strip() and not line.lstrip().startswith("#"):
            pytest.fail("%s: a line that is neither a pinned entry nor a hash: %r" % (path.name, line))
    return entries


def lock_files() -> List[Path]:
    return sorted(LOCKS.glob("*.txt"))


def environments() -> Set[str]:
    return {p.stem for p in REQUIREMENTS.glob("*.in")} - INCLUDED_ONLY


@pytest.mark.parametrize("lock", lock_files(), ids=lambda p: p.name)
def test_lock_agrees_with_its_requirements(lock):
    match = LOCK_NAME.match(lock.name)
    assert match and match.group("env") in environments(), "%s has no tests/requirements/*.in" % lock.name
    text = lock.read_text()
    assert "bash scripts/lock.sh" in text.splitlines()[1], "%s was not made by scripts/lock.sh" % lock.name
    entries = read_lock(lock)
    assert entries, lock.name
    unhashed = sorted(name for name, (_version, hashes) in entries.items() if hashes == 0)
    assert unhashed == [], "%s: entries without a sha256 hash: %s" % (lock.name, unhashed)
    python = match.group("python")
    for requirement in read_in(REQUIREMENTS / (match.group("env") + ".in")):
        if requirement.marker and not requirement.marker.evaluate({"python_version": python}):
            continue
        name = canonicalize_name(requirement.name)
        assert name in entries, "%s lacks %s (run bash scripts/lock.sh)" % (lock.name, requirement)
        locked = entries[name][0]
        assert requirement.specifier.contains(locked, prereleases=True), (
            "%s has %s==%s, its .in wants %s (run bash scripts/lock.sh)" % (lock.name, name, locked, requirement)
        )


def test_every_environment_is_locked_for_each_debian_python():
    """Each environment has a lock for every Python it runs on; the matrix's ansible-core versions have theirs."""
    for env in environments():
        assert list(LOCKS.glob(env + "-py*.txt")), "%s.in has no lock (run bash scripts/lock.sh)" % env
    for python in ("3.11", "3.13", "3.14"):  # Debian 12, 13 and unstable
        assert (LOCKS / ("pinned-py%s.txt" % python)).is_file()
    matrix = (ROOT / "tests" / "matrix" / "run").read_text()
    for leg, python in (("OLDEST", "3.11"), ("OLDEST", "3.13"), ("NEWEST", "3.14")):
        found = re.search(r"^%s=(\S+)$" % leg, matrix, re.MULTILINE)
        assert found, leg
        version = found.group(1)
        assert (LOCKS / ("ansible-core-%s-py%s.txt" % (version, python))).is_file(), (leg, version, python)


def installed() -> Dict[str, str]:
    return {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}


def test_running_environment_is_exactly_its_lock():
    record = Path(sys.prefix) / "nixfleet-lock"
    assert record.is_file(), "%s is not a venv made by scripts/setup.sh (no %s)" % (sys.prefix, record.name)
    lock = ROOT / record.read_text().strip()
    named = LOCK_NAME.match(lock.name)
    assert named and named.group("python") == "%d.%d" % sys.version_info[:2], lock.name
    want = {name: version for name, (version, _hashes) in read_lock(lock).items()}
    have = {name: version for name, version in installed().items() if name not in VENV_OWN or name in want}
    assert have == want, "installed but not locked: %s; locked but not installed or another version: %s" % (
        sorted(set(have.items()) - set(want.items())),
        sorted(set(want.items()) - set(have.items())),
    )
