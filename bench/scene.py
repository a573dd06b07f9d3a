"""A benchmark scene: a running local fleet, a fixture flake for it, inventories and the environment
every measured command runs in (the same for nixfleet and for the baselines)."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".collections"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "tests" / "fleet"))
import nsfleet  # noqa: E402
from fleetctl import NIX_CONFIG, Fleet, FixtureFlake, running_fleet  # noqa: E402
from playbook_helpers import write_fleet_inventory, write_static_group  # noqa: E402

from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes import flake_inventory  # noqa: E402
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli  # noqa: E402

BENCH = ROOT / "bench"
CACHE_HOST = "cache01"
FIRST_ADDRESS = "127.0.70.11"  # up to 200 hosts: 127.0.70.11 - 127.0.70.210, nothing else uses them
# Closure sizes: every host's own part and the package all hosts share (what "one shared package
# changed" changes). Small, so the numbers show what the tools cost, not the disk.
HOST_PAYLOAD_KIB = 256
SHARED_PAYLOAD_KIB = 1024
# The same Nix settings for every method: offline, and builds as parallel as the machine allows
# (max-jobs = auto, as on NixOS).
BENCH_NIX_CONFIG = NIX_CONFIG + "\nmax-jobs = auto"


@dataclass
class Scene:
    work: Path
    fleet: Fleet
    flake: FixtureFlake
    env: Dict[str, str]
    nix_log: Path

    @property
    def inventory(self) -> Path:
        return self.work / "fleet.flake.yml"

    @property
    def uncached_inventory(self) -> Path:
        return self.work / "uncached.flake.yml"

    @property
    def hosts_file(self) -> Path:
        return self.work / "hosts.txt"

    def metadata_expression(self) -> str:
        """What the inventory plugin evaluates, in one nix eval: the listing with every host's metadata
        (the plugin reads a large fleet in memory-bounded chunks; the floor is one process)."""
        return flake_inventory.listing_expression(self.flake.ref, (), first=len(self.fleet.hosts))

    @property
    def built_log(self) -> Path:
        """Every derivation Nix built in this scene, one per line (its post-build-hook writes them)."""
        return self.work / "built.log"

    def builds(self) -> int:
        return len(self.built_log.read_text().split()) if self.built_log.exists() else 0

    def change_shared_package(self, version: str) -> None:
        self.flake.data["base_version"] = version
        self.flake.write()

    def toplevels(self) -> Dict[str, str]:
        """Each host's system as the flake says now (evaluated, not built)."""
        out = subprocess.run(
            ["nix", "eval", "--json", "%s#toplevels" % self.flake.ref],
            env=self.env,
            stdout=subprocess.PIPE,
            universal_newlines=True,
            check=True,
        ).stdout
        return json.loads(out)

    def running(self) -> Dict[str, str]:
        """What each host runs (``/run/current-system``), read inside its namespaces, all at once."""
        procs = {
            h.name: subprocess.Popen(
                nsfleet.exec_argv(h, ["readlink", "/run/current-system"]),
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                universal_newlines=True,
            )
            for h in self.fleet.hosts
        }
        return {name: proc.communicate()[0].strip() for name, proc in procs.items()}

    def verify(self) -> Dict[str, str]:
        """Every host runs the flake's system; raises naming the hosts that do not."""
        want, have = self.toplevels(), self.running()
        wrong = sorted(name for name in want if have.get(name) != want[name])
        if wrong:
            raise AssertionError(
                "hosts not on the flake's system after the deploy: %s (e.g. %s runs %r, "
                "want %s)" % (", ".join(wrong), wrong[0], have.get(wrong[0]), want[wrong[0]])
            )
        return want


def _closures(env: Dict[str, str], roots: List[str]):
    """(``closure(root) -> set of paths``, path-info of every path in them)."""
    infos = NixCli(env=env).path_info(sorted(set(roots)), recursive=True)  # the collection's reader: any Nix's JSON

    def closure(root: str) -> set:
        seen, todo = set(), [root]
        while todo:
            path = todo.pop()
            if path not in seen:
                seen.add(path)
                todo.extend(infos[path].get("references", []))
        return seen

    return closure, infos


def bytes_needed(env: Dict[str, str], before: Dict[str, str], after: Dict[str, str]) -> int:
    """NAR bytes every host lacks to go from ``before`` to ``after`` (the least any tool must send)."""
    closure, infos = _closures(env, list(before.values()) + list(after.values()))
    return sum(infos[p]["narSize"] for name in after for p in closure(after[name]) - closure(before[name]))


def one_copy_bytes(env: Dict[str, str], systems: Dict[str, str]) -> int:
    """NAR bytes of one copy of every path in the hosts' closures (what a cache that has none needs)."""
    closure, infos = _closures(env, list(systems.values()))
    return sum(infos[p]["narSize"] for p in set().union(*(closure(s) for s in systems.values())))


def _write_inventories(work: Path, fleet: Fleet, flake: FixtureFlake) -> None:
    """The tests' inventory (ssh settings as group_vars), its flake as a path: ref (the scene lives
    inside the repository's git tree), once with the inventory cache and once without."""
    write_fleet_inventory(work, fleet, flake)
    source = "plugin: nixfleet.nixos.flake\nflake: %s\n" % flake.ref
    (work / "fleet.flake.yml").write_text(
        source + "cache: true\ncache_plugin: ansible.builtin.jsonfile\n"
        "cache_connection: %s\n" % (work / "inventory-cache")
    )
    (work / "uncached.flake.yml").write_text(source)
    (work / "hosts.txt").write_text("".join("%s %s %d\n" % (h.name, h.address, h.port) for h in fleet.hosts))


def _build_hook(work: Path) -> Path:
    hook = work / "count-builds.sh"
    hook.write_text(
        '#!/bin/sh\n# Nix runs this after every build it makes\necho "$DRV_PATH" >> %s\n' % (work / "built.log")
    )
    hook.chmod(0o755)
    return hook


def bench_env(work: Path, control_dir: str, fleet: Fleet, count_builds: bool = False) -> Dict[str, str]:
    first = fleet.hosts[0]
    env = dict(os.environ)
    env.update(
        PATH="%s:%s" % (work.parent / "shims", env["PATH"]),
        NIX_CONFIG=BENCH_NIX_CONFIG + ("\npost-build-hook = %s" % _build_hook(work) if count_builds else ""),
        ANSIBLE_CONFIG=str(BENCH / "ansible.cfg"),
        ANSIBLE_SSH_CONTROL_PATH_DIR=control_dir,
        ANSIBLE_HOST_KEY_CHECKING="True",
        ANSIBLE_NOCOLOR="1",
        BENCH_SSH_KEY=first.private_key,
        BENCH_KNOWN_HOSTS=first.known_hosts,
    )
    return env


@contextlib.contextmanager
def scene(
    work: Path,
    size: int,
    salt: str,
    with_fleet: bool = True,
    eval_rounds: int = 0,
    cache_host: bool = False,
    count_builds: bool = False,
) -> Iterator[Scene]:
    """A fresh fleet of ``size`` hosts and a flake whose systems (and shared package) nobody has
    built yet: ``salt`` goes into every version, so each scene starts cold on the controller too.
    ``eval_rounds``: synthetic evaluation work per host (tests/fixtures/flake/lib/eval-work.nix).
    ``cache_host``: one more host, ``cache01`` (in the inventory's group ``caches``, not in the flake).
    ``count_builds``: Nix writes every derivation it builds to :attr:`Scene.built_log`."""
    work.mkdir(parents=True, exist_ok=True)
    names = nsfleet.host_names(size)
    extra = [CACHE_HOST] if cache_host else []
    with (
        running_fleet(work / "fleet", size + len(extra), [], FIRST_ADDRESS, names=names + extra)
        if with_fleet
        else _no_fleet(work, names) as fleet
    ):
        hosts = {
            h.name: {
                "address": h.address,
                "port": h.port,
                "user": h.user,
                "shape": "colmena",
                "version": salt,
                "payload_kib": HOST_PAYLOAD_KIB,
                "eval_rounds": eval_rounds,
            }
            for h in fleet.hosts
            if h.name not in extra
        }
        flake = FixtureFlake.from_specs(work / "flake", hosts, fleet.hosts[0].http_port)
        flake.data.update(base_version=salt, base_payload_kib=SHARED_PAYLOAD_KIB)
        flake.write()
        _write_inventories(work, fleet, flake)
        if extra:
            write_static_group(work, fleet, "caches", extra)
        nix_log = work.parent / "nix-processes.log"
        # Ansible's ssh master sockets: a short directory of their own (a unix socket path has at
        # most 107 bytes, and the work directory may be deep).
        control_dir = tempfile.mkdtemp(prefix="nfb-cp-")
        try:
            yield Scene(work, fleet, flake, bench_env(work, control_dir, fleet, count_builds), nix_log)
        finally:
            shutil.rmtree(control_dir, ignore_errors=True)


@contextlib.contextmanager
def _no_fleet(work: Path, names: List[str]) -> Iterator[Fleet]:
    """Host entries for a flake and inventory when nothing needs to run (inventory measurements)."""
    base = ipaddress.IPv4Address(FIRST_ADDRESS)
    client = work / "client"
    hosts = [
        nsfleet.Host(
            name=name,
            address=str(base + i),
            port=2222,
            user="root",
            private_key=str(client / "id_ed25519"),
            known_hosts=str(client / "known_hosts"),
            http_port=8080,
            no_python=False,
            root="",
        )
        for i, name in enumerate(names)
    ]
    yield Fleet(work, hosts)
