# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Reading files on the controller (``.sops.yaml``, sops files, keys) and writing reports there,
with errors that name them."""

from __future__ import annotations

import os
import tempfile
from typing import Any, Dict, List

import yaml

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError


def read_text(path: str, what: str) -> str:
    """A text file on the controller; a ``NixError`` naming it (never quoting it: it may be a key)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise NixError("%s %s cannot be read: %s" % (what, path, exc.strerror or exc.__class__.__name__))
    except UnicodeDecodeError:
        raise NixError("%s %s cannot be read: it is not UTF-8 text" % (what, path))


def load_yaml(path: str, what: str) -> Any:
    """A YAML (or JSON) file on the controller; a clear ``NixError`` if it is missing or malformed."""
    text = read_text(path, what)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise NixError("%s %s is not valid YAML: %s" % (what, path, exc))


def write_files(directory: str, files: Dict[str, str], what: str = "the report") -> List[str]:
    """Write each ``name: text`` into ``directory`` (made if missing), each atomically (a reader never
    sees half a file); the paths written."""
    written = []
    try:
        os.makedirs(directory, exist_ok=True)
        for name, text in files.items():
            fd, tmp = tempfile.mkstemp(prefix=".nixfleet-", dir=directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                os.chmod(tmp, 0o644)
                os.replace(tmp, os.path.join(directory, name))
            except BaseException:
                os.unlink(tmp)
                raise
            written.append(os.path.join(directory, name))
    except OSError as exc:
        raise NixError("writing %s to %s failed: %s" % (what, directory, exc.strerror or exc))
    return written
