"""A fake Nix for ``SystemBuilder`` tests: it answers each call as the real CLI does (its messages from
Nix's own output, its results in an order of its own, as ``nix build`` sorts them)."""

import re
from typing import Dict, List, Optional, Sequence

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_argv import NixSettings
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.process import CommandResult
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.system_build import SystemTarget

FLAKE = "git+file:///srv/fleet?rev=0123456789abcdef0123456789abcdef01234567"


def drv(host):
    return "/nix/store/%s-nixos-system-%s.drv" % (host[0] * 32, host)


def out(host):
    return "/nix/store/%s-nixos-system-%s" % (host[1] * 32, host)


class FakeNix:
    """``broken``: hosts that do not evaluate (Nix's message); ``failing``: hosts whose build fails."""

    def __init__(self, broken: Optional[Dict[str, str]] = None, failing: Sequence[str] = ()) -> None:
        self.settings = NixSettings()
        self.env: Dict[str, str] = {}
        self.broken, self.failing = broken or {}, list(failing)
        self.built: List[str] = []
        self.calls: List[str] = []
        self.build_asked: List[List[str]] = []

    @staticmethod
    def host_of(installable: str) -> str:
        found = re.search(r'nixosConfigurations\."([^"]+)"', installable)
        assert found, installable
        return found.group(1)

    def build_derivations(self, drvs):
        self.calls.append("build")
        self.build_asked.append(list(drvs))
        hosts = [self.host_of_drv(d) for d in drvs]
        self.built += [h for h in hosts if h not in self.failing]
        failed = [h for h in hosts if h in self.failing]
        if failed:
            raise NixError(
                "nix build failed",
                rc=1,
                stderr="".join(
                    "error: builder for '%s' failed with exit code 2;\n       last 1 log lines:\n       > cc: bad code\n"
                    % drv(h)
                    for h in failed
                ),
            )
        # not in the order asked: nix build sorts its results
        return {drv(h): out(h) for h in sorted(hosts, reverse=True)}

    @staticmethod
    def host_of_drv(path):
        found = re.search(r"nixos-system-(.+)\.drv$", path)
        assert found, path
        return found.group(1)

    def eval_expr_json(self, expr, what="nix eval"):
        if expr.startswith("let s = "):  # one host alone, unguarded (Nix's own message when it fails)
            return self.eval_json(expr)
        self.calls.append("eval")
        return {h: None if h in self.broken else {"drvPath": drv(h), "path": out(h)} for h in self.hosts(expr)}

    def eval_expr_measured(self, expr, what="nix eval"):
        """As the real CLI: the value and the process (which used no memory worth counting here)."""
        return self.eval_expr_json(expr, what), CommandResult(["nix", "eval"], 0, "", "")

    @staticmethod
    def hosts(expr):
        """The hosts of the one expression that evaluates them all (``"web" = t f0.…;``)."""
        return re.findall(r'"([^"]+)" = t f\d+\.', expr)

    def eval_json(self, installable, apply=None):
        host = self.host_of(installable)
        self.calls.append("eval " + host)
        if host in self.broken:
            raise NixError("nix eval failed", rc=1, stderr="error: %s\n" % self.broken[host])
        return {"drvPath": drv(host), "path": out(host)}

    def path_info(self, paths, closure_size=False, **_kwargs) -> Dict[str, Optional[dict]]:
        self.calls.append("path-info")
        valid = {out(h) for h in self.built}
        return {p: ({"closureSize": 1000} if p in valid else None) for p in paths}


def targets(*hosts):
    return [
        SystemTarget(host=h, flake=FLAKE, attr='nixosConfigurations."%s".config.system.build.toplevel' % h)
        for h in hosts
    ]
