# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of nixfleet.nixos.exposure (documented in plugins/modules/exposure.py)."""

from __future__ import annotations

import json
import os

from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain import closure_graph, exposure as ex
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain.package_spec import spec_of
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import PROFILE_ARGSPEC, NixosAction


class ActionModule(NixosAction):
    ARGSPEC = dict(
        PROFILE_ARGSPEC,
        package={"type": "str", "required": True},
        version={"type": "str"},
        sbom_dir={"type": "path"},
    )

    def execute(self, args, task_vars):
        host = self._label(task_vars)
        spec = spec_of(args["package"], args["version"])
        if args["sbom_dir"]:
            found = self._from_sbom(host, spec, args["sbom_dir"])
        else:
            out = (
                self.shell(task_vars)
                .check(
                    ex.scan_command(args["profile"]),
                    "reading the systems of %s and their references" % host,
                    privileged=False,
                )
                .stdout
            )
            state, graph = ex.parse_scan(args["profile"], out)
            found = ex.exposure(host, spec, ex.systems_of(state), graph)
        report = found.to_dict()
        exposed = [", ".join(s["roles"]) for s in report["systems"] if s["exposed"]]
        where = "in " + "; ".join(exposed) if exposed else "in none of its %d systems" % len(report["systems"])
        report.update(changed=False, msg="%s: %s %s" % (host, spec, where))
        return report

    @staticmethod
    def _from_sbom(host, spec, directory):
        """The host's SBOM (``DIR/HOST.cdx.json``, as playbooks/sbom.yml writes it) instead of the host."""
        path = os.path.join(directory, "%s.cdx.json" % host)
        try:
            with open(path, encoding="utf-8") as handle:
                bom = json.load(handle)
        except OSError as exc:
            raise NixError("reading the SBOM %s failed: %s" % (path, exc.strerror), host=host)
        except ValueError as exc:
            raise NixError("the SBOM %s is not JSON: %s" % (path, exc), host=host)
        if not isinstance(bom, dict):
            raise NixError("the SBOM %s is not a CycloneDX document" % path, host=host)
        return ex.from_sbom(host, spec, bom, closure_graph.from_sbom(bom))
