"""The code type-checks (mypy, with the bodies of unannotated functions too, over plugins/ and
tests/), passes ruff's lint, is as ruff formats it, and has no unused imports or undefined names
(pyflakes), all with the settings of pyproject.toml."""

import subprocess
import sys
from pathlib import Path

import ansible_collections.nixfleet.nixos.plugins as plugins_package

PKG = Path(plugins_package.__path__[0]).parent
COLLECTIONS = PKG.parents[2]
ROOT = Path(__file__).resolve().parents[3]


def run(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        cwd=str(cwd),
        check=False,
    )


def test_plugins_and_tests_type_check():
    proc = run(
        "mypy",
        "--config-file",
        str(ROOT / "pyproject.toml"),
        "--no-error-summary",
        str(PKG / "plugins"),
        str(PKG / "tests"),
        cwd=COLLECTIONS,
    )
    assert proc.returncode == 0, proc.stdout


def test_ruff_lint_clean():
    proc = run("ruff", "check", "--no-cache", ".", cwd=ROOT)
    assert proc.returncode == 0, proc.stdout


def test_ruff_format_clean():
    proc = run("ruff", "format", "--check", "--no-cache", ".", cwd=ROOT)
    assert proc.returncode == 0, proc.stdout


def test_pyflakes_clean():
    proc = run("pyflakes", "plugins", "tests", "molecule", cwd=ROOT)
    assert proc.returncode == 0, proc.stdout
