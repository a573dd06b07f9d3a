"""The typed core type-checks (mypy) and nothing has unused imports or undefined names (pyflakes)."""
import subprocess
import sys
from pathlib import Path

import ansible_collections.nixfleet.nixos.plugins as plugins_package

PKG = Path(plugins_package.__path__[0])
COLLECTIONS = PKG.parents[3]
ROOT = Path(__file__).resolve().parents[2]


def test_core_type_checks():
    proc = subprocess.run([sys.executable, "-m", "mypy", "--ignore-missing-imports", "--explicit-package-bases",
                           "--no-error-summary", str(PKG / "module_utils"), str(PKG / "plugin_utils")],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          cwd=str(COLLECTIONS), check=False)
    assert proc.returncode == 0, proc.stdout


def test_pyflakes_clean():
    proc = subprocess.run([sys.executable, "-m", "pyflakes", "plugins", "tests", "molecule"], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, cwd=str(ROOT), check=False)
    assert proc.returncode == 0, proc.stdout
