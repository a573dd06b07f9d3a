"""The fleet benchmark: nixfleet's deploy.yml side by side with nixos-rebuild-style baselines.

    python bench/fleet_bench.py [--sizes 5,20,50] [--repeat 3] [--scale-sizes 100,200] [--eval-sizes 50]
                                [--out bench/results]

(``bash bench/run`` sets the machine up first.) For each fleet size and repetition, each method
gets a fresh fleet and a flake nobody has built yet, and is measured on: a cold deploy, a no-op
redeploy, and a redeploy after the package every host shares changed. Every deploy is verified
(each host runs the flake's system) before its time counts. Also measured: the inventory (uncached,
cached, a bare ``nix eval`` of the same metadata), the floor (that eval plus one parallel
``ssh readlink /run/current-system`` round), and the controller's peak memory at the largest size.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from scene import BENCH, ROOT, Scene, bytes_needed, scene
from measure import CommandFailed, install_nix_shims, measure
from recorder import Recorder
import report
from scale_out import run_cache_path, run_slicing

# The fixture's synthetic evaluation work per host for the evaluation-heavy build phase: about 1.5 s
# of CPU and 450 MB per evaluating process (tests/fixtures/flake/lib/eval-work.nix).
EVAL_ROUNDS = 30


@dataclass(frozen=True)
class Method:
    key: str
    label: str

    def argv(self, sc: Scene) -> List[str]:
        if self.key == "nixfleet":
            return ["ansible-playbook", "-i", str(sc.inventory), str(ROOT / "playbooks" / "deploy.yml")]
        return ["bash", str(BENCH / "baseline.sh"), self.key, sc.flake.ref, str(sc.hosts_file)]


METHODS = (
    Method("nixfleet", "nixfleet deploy.yml"),
    Method("sequential", "(a) nixos-rebuild --target-host, host after host"),
    Method("parallel", "(b) the same, in parallel (shell loop)"),
)


def run_deploys(work: Path, size: int, rep: int, method: Method, rec: Recorder) -> None:
    """Cold deploy, no-op redeploy, shared package changed: each measured and verified."""
    salt = "r%d-%s-%d" % (rep, method.key, int(time.time()))
    with scene(work / ("%s-%d-%d" % (method.key, size, rep)), size, salt) as sc:

        def deploy(scenario: str, before: Optional[Dict[str, str]] = None) -> Dict[str, str]:
            sample = measure(method.argv(sc), sc.env, sc.nix_log, sc.work / ("%s.log" % scenario), cwd=sc.work)
            systems = sc.verify()
            # What had to reach the hosts at least (NAR bytes), to compare with what crossed loopback.
            needed = bytes_needed(sc.env, before, systems) if before else None
            rec.add(size, rep, method.key, scenario, sample, needed_bytes=needed)
            return systems

        first = deploy("cold")
        deploy("noop")
        if method.key == "nixfleet":
            floor_env = dict(sc.env, BENCH_METADATA_EXPR=sc.metadata_expression())
            rec.add(
                size,
                rep,
                "floor",
                "noop",
                measure(
                    ["bash", str(BENCH / "baseline.sh"), "floor", sc.flake.ref, str(sc.hosts_file)],
                    floor_env,
                    sc.nix_log,
                    sc.work / "floor.log",
                ),
            )
        sc.change_shared_package(salt + "-shared2")
        deploy("shared-changed", before=first)


def run_inventory(work: Path, size: int, rep: int, rec: Recorder) -> None:
    with scene(
        work / ("inventory-%d-%d" % (size, rep)), size, "inv%d-%d" % (rep, int(time.time())), with_fleet=False
    ) as sc:

        def timed(name: str, argv: List[str], **env) -> None:
            sample = measure(argv, dict(sc.env, **env), sc.nix_log, sc.work / ("%s.log" % name), cwd=sc.work)
            rec.add(size, rep, "inventory", name, sample)

        timed("bare-nix-eval", ["nix", "eval", "--json", "--impure", "--expr", sc.metadata_expression()])
        timed("uncached", ["ansible-inventory", "-i", str(sc.uncached_inventory), "--list"])
        measure(["ansible-inventory", "-i", str(sc.inventory), "--list"], sc.env, sc.nix_log, sc.work / "fill.log")
        timed("cached", ["ansible-inventory", "-i", str(sc.inventory), "--list"])
        timed("static-one-host", ["ansible-inventory", "-i", "localhost,", "--list"])


def run_evaluation(work: Path, size: int, rep: int, rec: Recorder) -> None:
    """The build phase alone (bench/build_phase.yml) for hosts that cost about 1.5 s of evaluation each
    (EVAL_ROUNDS of the fixture's synthetic workload): one ``nix eval`` process, then one per core;
    and what one host's evaluation costs alone (CPU of ``nix eval`` of its derivation, 3 hosts)."""
    for workers in (1, 0):
        salt = "ev%d-%d-%d" % (rep, workers, int(time.time()))
        with scene(
            work / ("eval-%d-%d-%d" % (size, rep, workers)), size, salt, with_fleet=False, eval_rounds=EVAL_ROUNDS
        ) as sc:
            if workers == 0:
                for host in sorted(sc.flake.data["hosts"])[:3]:
                    rec.add(
                        size,
                        rep,
                        "evaluation",
                        "one-host-alone",
                        measure(
                            ["nix", "eval", "--raw", sc.flake.toplevel(host) + ".drvPath"],
                            sc.env,
                            sc.nix_log,
                            sc.work / ("alone-%s.log" % host),
                        ),
                    )
            sample = measure(
                [
                    "ansible-playbook",
                    "-i",
                    str(sc.inventory),
                    str(BENCH / "build_phase.yml"),
                    "-e",
                    "nixos_deploy_eval_workers=%d" % workers,
                ],
                sc.env,
                sc.nix_log,
                sc.work / "build.log",
                cwd=sc.work,
                memory=True,
            )
            rec.add(
                size,
                rep,
                "evaluation",
                "build-phase-%s" % ("one-process" if workers == 1 else "per-core"),
                sample,
                cores=len(os.sched_getaffinity(0)),
            )
            if workers == 0:
                # the same build phase again, nothing changed: the evaluation cache answers
                rec.add(
                    size,
                    rep,
                    "evaluation",
                    "build-phase-unchanged",
                    measure(
                        ["ansible-playbook", "-i", str(sc.inventory), str(BENCH / "build_phase.yml")],
                        sc.env,
                        sc.nix_log,
                        sc.work / "again.log",
                        cwd=sc.work,
                    ),
                )


def run_memory(work: Path, size: int, rec: Recorder) -> None:
    """One more cold deploy per method, sampled for memory (kept apart: sampling costs CPU)."""
    for method in METHODS:
        with scene(work / ("memory-%s" % method.key), size, "mem-%s-%d" % (method.key, int(time.time()))) as sc:
            sample = measure(method.argv(sc), sc.env, sc.nix_log, sc.work / "cold.log", cwd=sc.work, memory=True)
            sc.verify()
            rec.add(size, 0, method.key, "memory-cold", sample)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="5,20,50")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--methods", default=",".join(m.key for m in METHODS))
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    parser.add_argument("--work", type=Path, default=ROOT / ".state" / "bench")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory pass")
    parser.add_argument(
        "--scale-sizes", default="", help="larger fleets, measured once each after the others (bench/run: 100,200)"
    )
    parser.add_argument(
        "--eval-sizes", default="", help="fleet sizes for the evaluation-heavy build phase (bench/run: 50)"
    )
    parser.add_argument(
        "--cache-sizes", default="", help="fleet sizes for the cache path (copy_mode cache; bench/run: 20,50)"
    )
    parser.add_argument(
        "--slice-sizes", default="", help="fleet sizes for AWX job slicing, 4 slices against one job (bench/run: 50)"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    methods = [m for m in METHODS if m.key in args.methods.split(",")]
    if args.work.exists():
        shutil.rmtree(str(args.work))
    args.out.mkdir(parents=True, exist_ok=True)
    install_nix_shims(args.work / "shims", args.work / "nix-processes.log")
    rec = Recorder(args.out)
    started = time.time()
    try:
        for size in sizes:
            for rep in range(args.repeat):
                print("== %d hosts, run %d of %d" % (size, rep + 1, args.repeat), flush=True)
                run_inventory(args.work, size, rep, rec)
                # A different order each time, so slow drift of the machine hits every method alike.
                for method in methods[rep % len(methods) :] + methods[: rep % len(methods)]:
                    run_deploys(args.work, size, rep, method, rec)
        for size in [int(s) for s in args.scale_sizes.split(",") if s]:
            print("== %d hosts, once" % size, flush=True)
            for method in methods:
                run_deploys(args.work, size, 0, method, rec)
        for size in [int(s) for s in args.eval_sizes.split(",") if s]:
            print("== evaluation-heavy build phase, %d hosts" % size, flush=True)
            run_evaluation(args.work, size, 0, rec)
        for size in [int(s) for s in args.cache_sizes.split(",") if s]:
            print("== the cache path, %d hosts" % size, flush=True)
            run_cache_path(args.work, size, rec)
        for size in [int(s) for s in args.slice_sizes.split(",") if s]:
            print("== AWX job slicing, %d hosts" % size, flush=True)
            run_slicing(args.work, size, 4, rec)
        if not args.no_memory:
            print("== memory, %d hosts" % max(sizes), flush=True)
            run_memory(args.work, max(sizes), rec)
    except (CommandFailed, AssertionError) as exc:
        print("benchmark failed: %s" % exc, file=sys.stderr)
        return 1
    report.write(
        rec.records,
        args.out,
        methods=[m.key for m in METHODS],
        labels={m.key: m.label for m in METHODS},
        total_seconds=time.time() - started,
    )
    print("results in %s" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
