"""The fleet benchmark's scale-out scenarios: the cache path (``nixos_deploy_copy_mode: cache``) and
deploy.yml as an AWX sliced job, each a cold deploy on a fresh fleet and flake."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Dict, List

from measure import measure
from recorder import Recorder
from scene import BENCH, CACHE_HOST, ROOT, Scene, one_copy_bytes, scene


def _playbook(sc: Scene, inventories: List[Path], playbook: Path, extra_vars: Dict) -> List[str]:
    return (
        ["ansible-playbook"]
        + sum((["-i", str(i)] for i in inventories), [])
        + [str(playbook), "-e", json.dumps(extra_vars)]
    )


def run_cache_path(work: Path, size: int, rec: Recorder) -> None:
    """A cold deploy with ``nixos_deploy_copy_mode: cache``: the controller pushes each path once to
    a signed cache on ``cache01`` (nginx, role binary_cache), the hosts pull from it. Recorded: the
    bytes that left the controller (loopback bytes minus what the cache served the hosts, from its
    access log), the bytes uploaded to the cache (its files), and one copy of the closures (NAR bytes)."""
    salt = "cache-%d-%d" % (size, int(time.time()))
    with scene(work / ("cache-%d" % size), size, salt, cache_host=True) as sc:
        caches = sc.work / "caches.yml"
        key = sc.work / "cache.sec"
        cache_host = sc.fleet[CACHE_HOST]
        url = "http://%s:8081" % cache_host.address
        serve = "- hosts: caches\n  gather_facts: false\n  roles: [nixfleet.nixos.binary_cache]\n"
        (sc.work / "serve.yml").write_text(serve)
        (sc.work / "trust.yml").write_text(
            "- hosts: nixos\n  gather_facts: false\n  roles:\n    - role: nixfleet.nixos.substituters\n"
            "      substituters_extra_urls: ['%s']\n      substituters_trusted_public_keys: ['{{ trusted_key }}']\n"
            % url
        )
        measure(
            _playbook(sc, [caches], sc.work / "serve.yml", {"binary_cache_secret_key_file": str(key)}),
            sc.env,
            sc.nix_log,
            sc.work / "serve.log",
            cwd=sc.work,
        )
        public = subprocess.run(
            ["nix", "key", "convert-secret-to-public"],
            input=key.read_text(),
            env=sc.env,
            stdout=subprocess.PIPE,
            universal_newlines=True,
            check=True,
        ).stdout.strip()
        measure(
            _playbook(sc, [sc.inventory], sc.work / "trust.yml", {"trusted_key": public}),
            sc.env,
            sc.nix_log,
            sc.work / "trust.log",
            cwd=sc.work,
        )
        access_log = _host_file(cache_host, "/var/lib/nixfleet-binary-cache/access.log")
        served_before = _served_bytes(access_log)
        sample = measure(
            _playbook(
                sc,
                [sc.inventory],
                ROOT / "playbooks" / "deploy.yml",
                {
                    "nixos_deploy_copy_mode": "cache",
                    "nixos_deploy_cache_url": url,
                    "nixos_deploy_cache_secret_key_file": str(key),
                },
            ),
            sc.env,
            sc.nix_log,
            sc.work / "cold.log",
            cwd=sc.work,
        )
        systems = sc.verify()
        served = _served_bytes(access_log) - served_before
        uploaded = sum(
            f.stat().st_size
            for f in _host_file(cache_host, "/var/cache/nixfleet/binary-cache").rglob("*")
            if f.is_file()
        )
        rec.add(
            size,
            0,
            "nixfleet-cache",
            "cold",
            sample,
            controller_bytes=sample.loopback_bytes - served,
            served_bytes=served,
            uploaded_bytes=uploaded,
            needed_bytes=one_copy_bytes(sc.env, systems),
        )


def _host_file(host, path: str) -> Path:
    """A fleet host's file, seen from the controller (a namespace host's private directories live
    under its root; nsfleet keeps them there)."""
    return Path(host.root) / path.lstrip("/")


def _served_bytes(access_log: Path) -> int:
    """Response body bytes of the GETs in an nginx access log (combined format)."""
    total = 0
    for line in access_log.read_text().splitlines() if access_log.exists() else []:
        parts = line.split('"')
        if len(parts) > 2 and parts[1].startswith("GET "):
            fields = parts[2].split()
            total += int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
    return total


def run_slicing(work: Path, size: int, slices: int, rec: Recorder) -> None:
    """deploy.yml cold as an AWX sliced job (``slices`` concurrent ansible-runner jobs, the inventory
    cut as AWX cuts it, bench/sliced_deploy.py) and, on another fresh flake, as one unsliced job
    through the same harness; Nix counts what it built (post-build-hook)."""
    for count in (slices, 1):
        salt = "slice%d-%d-%d" % (count, size, int(time.time()))
        with scene(work / ("sliced-%d-%d" % (size, count)), size, salt, count_builds=True) as sc:
            sample = measure(
                [
                    "python",
                    str(BENCH / "sliced_deploy.py"),
                    "--inventory",
                    str(sc.inventory),
                    "--slices",
                    str(count),
                    "--work",
                    str(sc.work / "jobs"),
                ],
                sc.env,
                sc.nix_log,
                sc.work / "sliced.log",
                cwd=sc.work,
            )
            sc.verify()
            rec.add(
                size,
                0,
                "awx-slices",
                "cold-%d-slice%s" % (count, "s" if count > 1 else ""),
                sample,
                derivations_built=sc.builds(),
                slices=count,
            )
