# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the repository's files on the controller (``.sops.yaml``, sops-encrypted files)."""

from __future__ import annotations

from typing import Any

import yaml

from ansible_collections.nixfleet.nixos.plugins.module_utils.errors import NixError


def load_yaml(path: str, what: str) -> Any:
    """A YAML (or JSON) file on the controller; a clear ``NixError`` if it is missing or malformed."""
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except OSError as exc:
        raise NixError("%s %s cannot be read: %s" % (what, path, exc.strerror or exc))
    except yaml.YAMLError as exc:
        raise NixError("%s %s is not valid YAML: %s" % (what, path, exc))
