"""The collection as the Ansible ecosystem checks it: ansible-test sanity (every test that runs
without Docker, no ignore file), ansible-lint's production profile, ansible-test units, and
antsibull-changelog lint."""

import os
import subprocess
import sys

import pytest
from fleetctl import ROOT

BIN = os.path.dirname(sys.executable)
PYTHON = "%d.%d" % sys.version_info[:2]


@pytest.fixture(scope="module")
def collection_tree(tmp_path_factory):
    """The working tree's files (tracked and new, not ignored) in ansible_collections/nixfleet/nixos."""
    tree = tmp_path_factory.mktemp("ansible-test") / "ansible_collections" / "nixfleet" / "nixos"
    tree.mkdir(parents=True)
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=str(ROOT),
        stdout=subprocess.PIPE,
        universal_newlines=True,
        check=True,
    ).stdout.split("\n")
    for name in filter(None, files):
        source, target = ROOT / name, tree / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
            os.chmod(str(target), source.stat().st_mode & 0o777)
    return tree


def ansible_test(tree, *args):
    argv = (
        [os.path.join(BIN, "ansible-test")]
        + list(args)
        + ["--local", "--python", PYTHON, "--requirements", "--color", "no"]
    )
    return subprocess.run(
        argv,
        cwd=str(tree),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=1500,
        check=False,
    )


def test_no_sanity_ignore_files():
    assert not list((ROOT / "tests").glob("sanity/ignore-*.txt"))


def test_ansible_test_sanity(collection_tree):
    proc = ansible_test(collection_tree, "sanity")
    assert proc.returncode == 0, "\n".join(line for line in proc.stdout.splitlines() if "ERROR" in line)[-6000:]
    assert 'Running sanity test "validate-modules"' in proc.stdout and 'Running sanity test "pylint"' in proc.stdout


def test_ansible_test_units(collection_tree):
    proc = ansible_test(collection_tree, "units")
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert " passed" in proc.stdout


def test_ansible_lint_production_profile():
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-lint")],
        cwd=str(ROOT),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert "Profile 'production' was required, and it passed" in proc.stdout


def test_changelog_fragments_lint():
    proc = subprocess.run(
        [os.path.join(BIN, "antsibull-changelog"), "lint"],
        cwd=str(ROOT),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout
