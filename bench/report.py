"""The benchmark's outputs in bench/results/: results.md (tables, target ratios, machine),
deploy-times.png (time vs fleet size per method) and machine.md (what it ran on)."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from machine import machine_description
from targets import evaluation_floor, median, runs, targets

SCENARIOS = (("cold", "cold deploy"), ("noop", "no-op redeploy"), ("shared-changed", "shared package changed"))
INVENTORY = (
    ("bare-nix-eval", "bare `nix eval` of the same metadata"),
    ("uncached", "`ansible-inventory --list`, cache off"),
    ("cached", "`ansible-inventory --list`, cache hit"),
    ("static-one-host", "`ansible-inventory -i localhost, --list` (Ansible's own start-up)"),
)


def _cell(records: List[Dict], **match) -> str:
    values = [r["seconds"] for r in runs(records, **match)]
    if not values:
        return "-"
    return "%.2f (%.2f–%.2f)" % (statistics.median(values), min(values), max(values))


def _mib(value: Optional[float]) -> str:
    return "-" if value is None else "%.1f MiB" % (value / 1048576.0)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _head(columns: Sequence[str]) -> List[str]:
    """A Markdown table's first two lines: its column names, then the line under them."""
    return [_row(columns), "|" + "---|" * len(columns)]


def _hosts(sizes: Sequence[int]) -> List[str]:
    return ["%d hosts" % s for s in sizes]


def evaluation(records: List[Dict], sizes: Sequence[int]) -> List[str]:
    """Markdown: the evaluation-heavy build phase, one nix eval process against one per core."""
    out = [
        "## Evaluation-heavy build phase (bench/build_phase.yml)",
        "",
        "Hosts whose systems cost about 1.5 s of evaluation each (the fixture's synthetic workload, "
        "tests/fixtures/flake/lib/eval-work.nix), built from nothing; the floor is one host's evaluation "
        "CPU alone times the hosts, over the cores.",
        "",
        "| hosts | one process | one per core | floor | controller CPU (one / per core) | peak PSS (one / per core) |",
        "|---|---|---|---|---|---|",
    ]
    for size in sizes:
        one = runs(records, size=size, method="evaluation", scenario="build-phase-one-process")
        per_core = runs(records, size=size, method="evaluation", scenario="build-phase-per-core")
        if not one or not per_core:
            continue
        floor = evaluation_floor(records, size)
        out.append(
            "| %d | %.2f s | %.2f s | %s | %.1f / %.1f s | %d / %d MiB |"
            % (
                size,
                one[0]["seconds"],
                per_core[0]["seconds"],
                "-" if floor is None else "%.2f s" % floor,
                one[0].get("cpu_seconds", 0),
                per_core[0].get("cpu_seconds", 0),
                one[0].get("peak_pss_kib", 0) // 1024,
                per_core[0].get("peak_pss_kib", 0) // 1024,
            )
        )
        for again in runs(records, size=size, method="evaluation", scenario="build-phase-unchanged"):
            out += [
                "",
                "The same build phase again, the flake unchanged (evaluation cache): %.2f s, %d Nix "
                "processes, %d of them `nix eval`." % (again["seconds"], again["nix_processes"], again["nix_evals"]),
            ]
    return out + [""]


def scale_out(records: List[Dict]) -> List[str]:
    """Markdown: the cache path next to the push path, and AWX job slicing next to one job."""
    out: List[str] = []
    cache = sorted(runs(records, method="nixfleet-cache", scenario="cold"), key=lambda r: r["size"])
    if cache:
        out += [
            "## The cache path at scale (`nixos_deploy_copy_mode: cache`, cold deploy, one run)",
            "",
            "The controller pushes every path once to a signed cache on another host (nginx, role "
            "binary_cache); the hosts pull from it. Bytes leaving the controller: loopback bytes minus what "
            "the cache served the hosts (its access log). One copy: the NAR bytes of every path in the "
            "hosts' closures, once.",
            "",
            "| hosts | wall, cache path | wall, push path (median) | bytes leaving the controller | uploaded to the cache "
            "| one copy of the closures | served by the cache to the hosts | push path: bytes sent, shared changed |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in cache:
            push = median(records, size=r["size"], method="nixfleet", scenario="cold")
            out.append(
                "| %d | %.2f s | %s | %s | %s | %s | %s | %s |"
                % (
                    r["size"],
                    r["seconds"],
                    "-" if push is None else "%.2f s" % push,
                    _mib(r["controller_bytes"]),
                    _mib(r["uploaded_bytes"]),
                    _mib(r["needed_bytes"]),
                    _mib(r["served_bytes"]),
                    _mib(
                        median(records, "loopback_bytes", size=r["size"], method="nixfleet", scenario="shared-changed")
                    ),
                )
            )
        out.append("")
    sliced = sorted(runs(records, method="awx-slices"), key=lambda r: (r["size"], -r["slices"]))
    if sliced:
        out += [
            "## AWX job slicing (cold deploy, one run each, a fresh flake each)",
            "",
            "deploy.yml as concurrent ansible-runner jobs, the inventory cut as AWX cuts it "
            "(bench/sliced_deploy.py), on one controller (shared Nix store and evaluation cache), against "
            "one job through the same harness. Derivations built: counted by Nix's post-build-hook.",
            "",
            "| hosts | jobs | wall | controller CPU | derivations built | nix processes |",
            "|---|---|---|---|---|---|",
        ]
        for r in sliced:
            out.append(
                "| %d | %d | %.2f s | %.1f s | %d | %d |"
                % (r["size"], r["slices"], r["seconds"], r["cpu_seconds"], r["derivations_built"], r["nix_processes"])
            )
        out.append("")
    return out


def per_host(records: List[Dict], methods: Sequence[str], sizes: Sequence[int], labels: Dict[str, str]) -> List[str]:
    """Markdown: controller CPU-seconds per changed host, and the cost of each added host (the
    slope of the median time between consecutive sizes), per method and scenario."""
    out = [
        "## Controller CPU per changed host (seconds, median)",
        "",
        "User + system time of the command and every process it waited for, divided by the hosts "
        "that changed (ssh master connections that outlive the run are not counted, for any method).",
        "",
        *_head(["method", "scenario", *_hosts(sizes)]),
    ]
    for method in methods:
        for scenario in ("cold", "shared-changed"):
            cells = []
            for size in sizes:
                cpu = median(records, "cpu_seconds", size=size, method=method, scenario=scenario)
                cells.append("-" if not cpu else "%.3f" % (cpu / size))
            out.append(_row([labels.get(method, method), scenario, *cells]))
    if len(sizes) > 1:
        steps = list(zip(sizes, sizes[1:]))
        out += [
            "",
            "## Cost per added host (seconds per host between sizes, medians)",
            "",
            *_head(["method", "scenario", *("%d→%d" % step for step in steps)]),
        ]
        for method in list(methods) + ["floor"]:
            for scenario, _title in SCENARIOS:
                medians = [median(records, size=s, method=method, scenario=scenario) for s in sizes]
                if all(m is None for m in medians):
                    continue
                cells = [
                    "-" if a is None or b is None else "%.3f" % ((b - a) / (hi - lo))
                    for (a, b), (lo, hi) in zip(zip(medians, medians[1:]), steps)
                ]
                out.append(_row([labels.get(method, method), scenario, *cells]))
    return out + [""]


def markdown(records: List[Dict], methods: Sequence[str], labels: Dict[str, str], total_seconds: float) -> str:
    sizes = sorted({r["size"] for r in records})
    out = [
        "# Fleet benchmark results",
        "",
        "Seconds, median (min–max) of %d runs per cell; every deploy was verified (each host runs "
        "the flake's system) before its time counted. Made by `bash bench/run` in %.0f minutes; "
        "machine below and in machine.md." % (max(r["rep"] for r in records) + 1, total_seconds / 60),
        "",
    ]
    for scenario, title in SCENARIOS:
        out += [
            "## %s" % title.capitalize(),
            "",
            *_head(["method", *_hosts(sizes)]),
        ]
        for method in list(methods) + (["floor"] if scenario == "noop" else []):
            label = labels.get(method, "floor: one metadata eval + parallel `ssh readlink /run/current-system`")
            out.append(_row([label, *(_cell(records, size=s, method=method, scenario=scenario) for s in sizes)]))
        out.append("")
    out += [
        "## Bytes to the targets, shared package changed",
        "",
        "What crossed loopback during the run (both directions, ssh included) next to the NAR bytes the "
        "hosts lacked (the least any tool must send).",
        "",
        *_head(["method", *_hosts(sizes)]),
    ]
    for method in methods:
        sent = [median(records, "loopback_bytes", size=s, method=method, scenario="shared-changed") for s in sizes]
        needed = [median(records, "needed_bytes", size=s, method=method, scenario="shared-changed") for s in sizes]
        out.append(_row([labels[method], *("%s (needed %s)" % (_mib(a), _mib(b)) for a, b in zip(sent, needed))]))
    out += [
        "",
        "## Nix processes on the controller per run (median)",
        "",
        *_head(["method", "scenario", *_hosts(sizes)]),
    ]
    for method in methods:
        for scenario, title in SCENARIOS:
            nix = [median(records, "nix_processes", size=s, method=method, scenario=scenario) for s in sizes]
            out.append(_row([labels[method], title, *("%d" % (n or 0) for n in nix)]))
    out += [
        "",
        "## Inventory",
        "",
        *_head(["what", *_hosts(sizes), "nix processes"]),
    ]
    for key, title in INVENTORY:
        procs = sorted({r["nix_processes"] for r in runs(records, method="inventory", scenario=key)})
        cells = [_cell(records, size=s, method="inventory", scenario=key) for s in sizes]
        out.append(_row([title, *cells, ", ".join(str(p) for p in procs)]))
    out += [""] + per_host(records, methods, sizes, labels) + evaluation(records, sizes) + scale_out(records)
    memory = runs(records, scenario="memory-cold")
    if memory:
        out += [
            "",
            "## Controller memory, cold deploy of %d hosts" % memory[0]["size"],
            "",
            "Peak of the summed PSS (and RSS) of the whole process tree, sampled every 0.1 s.",
            "",
            "| method | peak PSS | peak RSS sum | processes seen |",
            "|---|---|---|---|",
        ]
        for r in memory:
            label = labels.get(r["method"], r["method"])
            row = (label, r["peak_pss_kib"] // 1024, r["peak_rss_kib"] // 1024, r["processes_seen"])
            out.append("| %s | %d MiB | %d MiB | %d |" % row)
    out += [
        "",
        "## Targets (ratios of medians from this run)",
        "",
        "| target | measured | limit | met |",
        "|---|---|---|---|",
    ]
    out += [
        "| %s | %s | %s | %s |" % (name, value, limit, "yes" if met else "**no**")
        for name, value, limit, met in targets(records, sizes)
    ]
    out += ["", "## Machine", "", machine_description()]
    return "\n".join(out) + "\n"


def plot(records: List[Dict], methods: Sequence[str], labels: Dict[str, str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({r["size"] for r in records if r["method"] in methods})
    fig, axes = plt.subplots(1, len(SCENARIOS), figsize=(15, 4.8), sharey=True)
    for ax, (scenario, title) in zip(axes, SCENARIOS):
        for method in list(methods) + (["floor"] if scenario == "noop" else []):
            points = [(s, median(records, size=s, method=method, scenario=scenario)) for s in sizes]
            points = [(s, v) for s, v in points if v is not None]
            if not points:
                continue
            lows = [
                min(r["seconds"] for r in runs(records, size=s, method=method, scenario=scenario))
                for s, _value in points
            ]
            highs = [
                max(r["seconds"] for r in runs(records, size=s, method=method, scenario=scenario))
                for s, _value in points
            ]
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            ax.errorbar(
                xs,
                ys,
                yerr=[[y - lo for y, lo in zip(ys, lows)], [hi - y for y, hi in zip(ys, highs)]],
                marker="o",
                capsize=3,
                linestyle="--" if method == "floor" else "-",
                label=labels.get(method, "floor (eval + parallel ssh readlink)"),
            )
        ax.set_title(title)
        ax.legend(fontsize=7, loc="upper left")
        ax.set_xlabel("hosts")
        ax.set_xticks(sizes)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("seconds (median, min–max)")
    fig.suptitle("nixfleet deploy.yml vs nixos-rebuild --target-host (sequential, parallel) on the local fleet")
    fig.tight_layout()
    fig.savefig(str(path), dpi=110)
    plt.close(fig)


def write(records: List[Dict], out: Path, methods: Sequence[str], labels: Dict[str, str], total_seconds: float) -> None:
    (out / "results.md").write_text(markdown(records, methods, labels, total_seconds))
    (out / "machine.md").write_text("# Machine\n\n" + machine_description() + "\n")
    plot(records, methods, labels, out / "deploy-times.png")
