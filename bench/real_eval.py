"""The real-evaluation benchmark: the inventory and the build's evaluation of real NixOS hosts
(tests/fixtures/real-flake, ``scale_hosts(n)``: web, db, app cycling), side by side in one run.

    python bench/real_eval.py --nix NIX [--inventory-sizes 50,200] [--build-sizes 50,100]
                              [--old-size auto] [--out bench/results] [--work DIR]

(``bash bench/run`` chooses NIX: the machine's ``nix`` when it is 2.18 or newer, else a Debian 13
root's through tests/fixtures/real-flake/nix-2.18.) Each run is measured with the summed RSS of every
Nix process under it, sampled every 0.1 s (bench/nix_sampler.py), its wall time and the CPU of the
command and its children (``wait4``). Measured:

* each kind alone (metadata as the inventory reads it, the system's drvPath as the build evaluates
  it) and one process of the three systems together: the per-host CPU (the floor) and the memory
  model;
* the inventory (``ansible-inventory --list``, defaults: ``eval_memory_budget`` 3072 MiB, one worker
  per core) at every size;
* the build's evaluation (bench/real_build.yml: the nixfleet.nixos.build module in check mode over
  every host, ``eval_cache: false``, the inventory answered from its cache) at the build sizes;
* today's chunking (the previous engine: ``min(workers, n // 4)`` processes of ``ceil(n / count)``
  hosts, all at once, each with the build's own expression) at the largest size the memory model
  fits in the machine limit, and the new engine (SystemBuilder) on the same targets.

Writes OUT/real-eval.{md,json} and OUT/real-eval-memory.png.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Sequence

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / ".collections"))
sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "real-flake"))

import generate  # noqa: E402  (the real fixture's generator)
from machine import memory_gib, os_name  # noqa: E402
from nix_sampler import MIB, Usage, run_command, run_in_process  # noqa: E402
import real_eval_model as model  # noqa: E402
import real_eval_report  # noqa: E402

from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes import flake_inventory as fi  # noqa: E402
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_argv import NixSettings  # noqa: E402
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.evaluation_pool import (  # noqa: E402
    DEFAULT_BUDGET_MIB,
    usable_cores,
)
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli  # noqa: E402
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.system_build import (  # noqa: E402
    SystemBuilder,
    SystemTarget,
    _eval_expression,
    evaluation_summary,
)

GIB = 1024 * MIB


class BenchFailed(RuntimeError):
    pass


class RealBench:
    def __init__(self, nix: str, work: Path, limit: float, kill_at: float) -> None:
        self.nix = nix
        self.work = work
        self.limit = limit  # what today's chunking may be predicted to need at most
        self.kill_at = kill_at  # a run whose Nix processes hold more is stopped
        self.cores = usable_cores()
        self.cli = NixCli(NixSettings(nix=nix))
        self.env = dict(
            os.environ,
            ANSIBLE_CONFIG=str(BENCH / "ansible.cfg"),
            ANSIBLE_INVENTORY_UNPARSED_FAILED="true",
            ANSIBLE_HOST_KEY_CHECKING="true",
        )
        self.runs: List[Dict[str, Any]] = []
        self.hostvars: Dict[int, Dict[str, Dict[str, Any]]] = {}

    # -- the fixture and its inventory -------------------------------------------------------------
    def flake(self, size: int) -> Path:
        return generate.generate(self.work / ("flake-%d" % size), "full", generate.scale_hosts(size))

    def inventory_file(self, size: int) -> Path:
        """The flake inventory of ``size`` hosts, with its cache in a fresh directory (so the build's
        playbook reads it without a second evaluation)."""
        cache = self.work / ("inventory-cache-%d" % size)
        shutil.rmtree(cache, ignore_errors=True)
        path = self.work / ("real-%d.flake.yml" % size)
        options = {
            "plugin": "nixfleet.nixos.flake",
            "flake": str(self.flake(size)),
            "nix_binary": self.nix,
            "cache": True,
            "cache_plugin": "ansible.builtin.jsonfile",
            "cache_connection": str(cache),
        }
        path.write_text("".join("%s: %s\n" % (k, json.dumps(v)) for k, v in options.items()))
        return path

    def record(self, what: str, size: int, usage: Usage, **extra: Any) -> Dict[str, Any]:
        row = dict(what=what, hosts=size, **usage.to_dict(), **extra)
        self.runs.append(row)
        print(
            "  %-14s %4d hosts: %6.1f s wall, %7.1f s CPU (others %.1f s), peak %6d MiB in %d nix processes "
            "(%d at once)"
            % (
                what,
                size,
                usage.wall,
                usage.cpu,
                usage.others_cpu,
                usage.peak_nix_rss // MIB,
                len(usage.process_peaks),
                usage.max_concurrent,
            ),
            flush=True,
        )
        return row

    def inventory(self, size: int) -> None:
        path = self.inventory_file(size)
        listing = self.work / ("inventory-%d.json" % size)
        rc, usage = run_command(
            ["ansible-inventory", "-i", str(path), "--list", "--output", str(listing)],
            self.env,
            self.work / ("inventory-%d.log" % size),
            cwd=self.work,
            limit=self.kill_at,
        )
        if rc != 0:
            raise BenchFailed("the inventory of %d hosts failed (exit %d), see %s" % (size, rc, self.work))
        hostvars = json.loads(listing.read_text())["_meta"]["hostvars"]
        if len(hostvars) != size or any(h.get("nixos_eval_error") for h in hostvars.values()):
            raise BenchFailed("the inventory of %d hosts read %d hosts, or some with errors" % (size, len(hostvars)))
        self.hostvars[size] = hostvars
        self.record("inventory", size, usage)

    # -- the build's evaluation --------------------------------------------------------------------
    def build(self, size: int) -> None:
        path = self.work / ("real-%d.flake.yml" % size)
        result = self.work / ("build-%d.json" % size)
        result.unlink(missing_ok=True)
        rc, usage = run_command(
            [
                "ansible-playbook",
                "-i",
                str(path),
                str(BENCH / "real_build.yml"),
                "--check",
                "-e",
                json.dumps({"real_nix": self.nix, "result_file": str(result)}),
            ],
            self.env,
            self.work / ("build-%d.log" % size),
            cwd=self.work,
            limit=self.kill_at,
        )
        if rc != 0 or not result.exists():
            raise BenchFailed("the build's evaluation of %d hosts failed (exit %d), see %s" % (size, rc, self.work))
        answer = json.loads(result.read_text())
        if not set(self.hostvars[size]) <= set(answer["drv_paths"]) or answer["failed_hosts"]:
            raise BenchFailed("the build's evaluation of %d hosts did not evaluate every host" % size)
        self.record("build", size, usage, engine=answer["evaluation"])

    # -- one kind at a time, and the memory model --------------------------------------------------
    def targets(self, size: int) -> List[SystemTarget]:
        hv = self.hostvars[size]
        return [
            SystemTarget(host=name, flake=hv[name]["nixos_flake"], attr=hv[name]["nixos_toplevel_attr"])
            for name in sorted(hv)
        ]

    def per_kind(self) -> Dict[str, Any]:
        """Each kind's metadata and system alone (the first host of each kind of the 3-host flake),
        and the three systems in one process."""
        targets = self.targets(3)
        kinds = {t.host: generate.scale_hosts(3)[i].kind for i, t in enumerate(targets)}
        out: Dict[str, Any] = {}
        for target in targets:
            kind = kinds[target.host]
            meta = self.cli.eval_expr_measured(fi.chunk_expression(target.flake, [target.host]))[1]
            system = self.cli.eval_expr_measured(_eval_expression([target]))[1]
            out[kind] = {
                "metadata": {"cpu_s": round(meta.cpu, 2), "rss_mib": round(meta.max_rss / MIB)},
                "system": {"cpu_s": round(system.cpu, 2), "rss_mib": round(system.max_rss / MIB)},
            }
            print(
                "  %-4s alone: metadata %.1f s CPU %d MiB, system %.1f s CPU %d MiB"
                % (kind, meta.cpu, meta.max_rss // MIB, system.cpu, system.max_rss // MIB),
                flush=True,
            )
        together = self.cli.eval_expr_measured(_eval_expression(targets))[1]
        out["together"] = {
            "kinds": [kinds[t.host] for t in targets],
            "cpu_s": round(together.cpu, 2),
            "rss_mib": round(together.max_rss / MIB),
        }
        return out

    # -- today's chunking against the new engine, same targets -------------------------------------
    def old_chunking(self, size: int) -> None:
        targets = self.targets(size)
        chunks = model.old_partition(targets, self.cores)

        def evaluate_all() -> Dict[str, Any]:
            with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
                answers = list(pool.map(lambda c: self.cli.eval_expr_measured(_eval_expression(c)), chunks))
            return {
                "values": {k: v for value, _r in answers for k, v in value.items()},
                "peaks_mib": [round(r.max_rss / MIB) for _v, r in answers],
            }

        old, usage = run_in_process(evaluate_all, limit=self.kill_at)
        self.record(
            "old-chunking",
            size,
            usage,
            chunk_sizes=[len(c) for c in chunks],
            chunk_peaks_mib=old["peaks_mib"] if old else None,
        )
        builder = SystemBuilder(self.cli, eval_workers=self.cores, eval_memory_budget=DEFAULT_BUDGET_MIB * MIB)
        new, usage = run_in_process(lambda: builder.check(targets), limit=self.kill_at)
        self.record("new-engine", size, usage, engine=evaluation_summary(builder.report.evaluation))
        if old and new and {h: v["drvPath"] for h, v in old["values"].items()} != new.drv_paths:
            raise BenchFailed("today's chunking and the new engine evaluated different drvPaths")


def machine(nix: str, cores: int) -> Dict[str, str]:
    version = subprocess.run(
        [nix, "--version"], stdout=subprocess.PIPE, universal_newlines=True, check=True
    ).stdout.strip()
    memory = memory_gib()
    return {
        "nix": version,
        "nix_binary": nix,
        "nix_root": os.environ.get("NIXFLEET_NIX_ROOT", ""),
        "cores": str(cores),
        "memory_gib": "?" if memory is None else "%.1f" % memory,
        "os": os_name(),
    }


def sizes(text: str) -> List[int]:
    return [int(s) for s in text.split(",") if s.strip()]


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--nix", default=os.environ.get("NIXFLEET_REAL_NIX", "nix"))
    parser.add_argument("--inventory-sizes", default="50,200")
    parser.add_argument("--build-sizes", default="50,100")
    parser.add_argument(
        "--old-size", default="auto", help="hosts for today's chunking ('auto': what fits the limit, '0': not measured)"
    )
    parser.add_argument(
        "--limit-gib",
        type=float,
        default=10.5,
        help="the most today's chunking may be predicted to need (the machine's share)",
    )
    parser.add_argument("--kill-gib", type=float, default=11.0, help="a run whose Nix processes hold more is stopped")
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/nixfleet-real-bench"))
    args = parser.parse_args(list(argv) or None)
    args.work.mkdir(parents=True, exist_ok=True)
    bench = RealBench(args.nix, args.work, args.limit_gib * GIB, args.kill_gib * GIB)
    data: Dict[str, Any] = {"machine": machine(args.nix, bench.cores), "budget_mib": DEFAULT_BUDGET_MIB}
    print("== real evaluation with %s, %d cores" % (data["machine"]["nix"], bench.cores), flush=True)
    try:
        bench.inventory(3)
        data["per_kind"] = bench.per_kind()
        memory = model.MemoryModel.from_alone_and_together(
            {k: data["per_kind"][k]["system"]["rss_mib"] * MIB for k in model.KINDS},
            data["per_kind"]["together"]["rss_mib"] * MIB,
        )
        old_size = (
            int(args.old_size)
            if args.old_size != "auto"
            else model.old_fit_size(memory, model.KindsOf(model.KINDS), bench.cores, bench.limit) or 0
        )
        data["memory_model"] = {
            "base_mib": round(memory.base / MIB),
            "marginal_mib": {k: round(v / MIB) for k, v in memory.marginal.items()},
            "old_size": old_size,
            "limit_mib": round(bench.limit / MIB),
            "old_predicted_mib": round(memory.old_chunking(model.KindsOf(model.KINDS)(old_size), bench.cores) / MIB)
            if old_size
            else None,
        }
        for size in sorted(
            set(sizes(args.inventory_sizes) + sizes(args.build_sizes) + ([old_size] if old_size else []))
        ):
            if size != 3:
                bench.inventory(size)
        if old_size:
            bench.old_chunking(old_size)
        for size in sizes(args.build_sizes):
            bench.build(size)
    except BenchFailed as exc:
        print("real-evaluation benchmark failed: %s" % exc, file=sys.stderr)
        return 1
    data["runs"] = bench.runs
    data["inventory_sizes"], data["build_sizes"] = sizes(args.inventory_sizes), sizes(args.build_sizes)
    real_eval_report.write(data, memory, args.out)
    print("results in %s" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
