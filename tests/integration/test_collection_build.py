"""ansible-galaxy can build the collection and install the tarball it built."""

import os
import subprocess
import sys
import tarfile

from fleetctl import ROOT

BIN = os.path.dirname(sys.executable)


def test_build_and_install(tmp_path):
    out = tmp_path / "dist"
    build = subprocess.run(
        [os.path.join(BIN, "ansible-galaxy"), "collection", "build", str(ROOT), "--output-path", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        check=False,
    )
    assert build.returncode == 0, build.stdout
    tarball = out / "nixfleet-nixos-0.1.0.tar.gz"
    assert tarball.exists()
    with tarfile.open(str(tarball)) as tar:
        names = tar.getnames()
    assert "galaxy.yml" not in names and "MANIFEST.json" in names
    assert "plugins/module_utils/_nix/nix_argv.py" in names
    assert "tests/fleet/fleet" in names
    for junk in (".venv", ".collections", ".git", ".pytest_cache"):
        assert not [n for n in names if n == junk or n.startswith(junk + "/")], junk
    assert not [n for n in names if "__pycache__" in n]
    dest = tmp_path / "collections"
    install = subprocess.run(
        [os.path.join(BIN, "ansible-galaxy"), "collection", "install", str(tarball), "-p", str(dest), "--force"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        check=False,
    )
    assert install.returncode == 0, install.stdout
    installed = dest / "ansible_collections" / "nixfleet" / "nixos"
    assert (installed / "MANIFEST.json").exists()
    assert (installed / "plugins" / "plugin_utils" / "_nix" / "nix_cli.py").exists()
