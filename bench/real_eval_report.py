"""The real-evaluation benchmark's results: real-eval.json, real-eval.md (the targets table first)
and real-eval-memory.png (peak summed Nix memory against hosts)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import real_eval_model as model

MIB = model.MIB
# which per-host CPU alone is the floor of each kind of run
FLOOR_OF = {"inventory": "metadata", "build": "system", "old-chunking": "system", "new-engine": "system"}
LABELS = {
    "inventory": "inventory (new engine, ansible-inventory)",
    "build": "build's evaluation (new engine, module)",
    "new-engine": "build's evaluation (new engine, same targets as today's chunking)",
    "old-chunking": "build's evaluation, today's chunking (>= 4 hosts a process, all at once)",
}


def floor(data: Dict[str, Any], what: str, hosts: int) -> float:
    cpu = {kind: data["per_kind"][kind][FLOOR_OF[what]]["cpu_s"] for kind in model.KINDS}
    return model.floor_seconds(model.KindsOf(model.KINDS)(hosts), cpu, int(data["machine"]["cores"]))


def targets(data: Dict[str, Any]) -> List[model.Target]:
    wanted = [("inventory", n) for n in data["inventory_sizes"]] + [("build", n) for n in data["build_sizes"]]
    rows = []
    for what, hosts in wanted:
        run = _run(data, what, hosts)
        if run:
            rows.append(
                model.Target(
                    what, hosts, run["peak_nix_rss_mib"], data["budget_mib"], run["wall_s"], floor(data, what, hosts)
                )
            )
    return rows


def _run(data: Dict[str, Any], what: str, hosts: int) -> Optional[Dict[str, Any]]:
    return next((r for r in data["runs"] if (r["what"], r["hosts"]) == (what, hosts)), None)


def added_host(data: Dict[str, Any]) -> Dict[str, Dict[str, float]]:
    """The cost of one more host between the smallest and the largest target size of each kind of run."""
    costs = {}
    for what in ("inventory", "build"):
        sizes = sorted(data["%s_sizes" % what])
        small, large = (_run(data, what, sizes[0]), _run(data, what, sizes[-1])) if len(sizes) > 1 else (None, None)
        if not small or not large:
            continue
        costs[what] = {"between": [sizes[0], sizes[-1]]}
        for key, name in (("wall_s", "wall_s"), ("cpu_s", "cpu_s"), ("peak_nix_rss_mib", "peak_mib")):
            costs[what][name] = round(model.per_added_host(sizes[0], sizes[-1], small[key], large[key]), 2)
    return costs


def uncontended(run: Dict[str, Any], cores: int) -> float:
    """A rough wall time on idle cores: the measured wall minus the others' CPU spread over the cores
    (never below the run's own CPU over the cores)."""
    return max(run["wall_s"] - run["others_cpu_s"] / cores, run["cpu_s"] / cores)


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def markdown(data: Dict[str, Any]) -> str:
    m = data["machine"]
    lines = [
        "# Real NixOS evaluation (bench/real_eval.py)",
        "",
        "Machine: %s, %s cores, %s GiB, %s; Nix used: %s (`%s`%s). %s."
        % (
            m["os"],
            m["cores"],
            m["memory_gib"],
            "2 cores shared with other agents' tests" if m["cores"] == "2" else "shared",
            m["nix"],
            m["nix_binary"],
            ", root %s" % m["nix_root"] if m["nix_root"] else "",
            data["date"],
        ),
        "",
        "Peak = the peak of the summed RSS of every Nix process of the run (sampled every 0.1 s); "
        "floor = the sum of each host's evaluation CPU alone (its kind's: metadata for the inventory, "
        "the system's drvPath for the build) ÷ cores; budget = the default `eval_memory_budget`.",
        "",
        "## Targets",
        "",
        "| what | hosts | peak MiB | budget MiB | memory | wall s | floor s | 1.3 × floor s | wall | CPU s | others' CPU s | wall − others' CPU ÷ cores |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    cores = int(data["machine"]["cores"])
    for t in data["targets"]:
        run = _run(data, t["what"], t["hosts"])
        lines.append(
            "| %s | %d | %d | %d | %s | %.1f | %.1f | %.1f | %s | %.1f | %.1f | %.1f |"
            % (
                t["what"],
                t["hosts"],
                t["peak_mib"],
                t["budget_mib"],
                _met(t["memory_met"]),
                t["wall_s"],
                t["floor_s"],
                t["wall_limit_s"],
                _met(t["wall_met"]),
                run["cpu_s"],
                run["others_cpu_s"],
                uncontended(run, cores),
            )
        )
    lines += [
        "",
        "CPU = the run's own (wait4 of the command, its children included); others' CPU = what the "
        "machine's other processes used meanwhile (/proc/stat): the cores were shared with other agents' "
        "tests. The last column is a rough estimate of the wall time on idle cores (as if the others' CPU "
        "had delayed the run one for one); the targets are judged on the measured wall.",
    ]
    lines += [
        "",
        "## Cost per added host",
        "",
        "| what | between | wall s | CPU s | peak MiB |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for what, c in data["per_added_host"].items():
        row = (what, c["between"][0], c["between"][1], c["wall_s"], c["cpu_s"], c["peak_mib"])
        lines.append("| %s | %d → %d hosts | %.2f | %.2f | %.1f |" % row)
    lines += [
        "",
        "## Every run",
        "",
        "| run | hosts | wall s | CPU s | others' CPU s | floor s | peak MiB | nix processes | at once | chunk sizes | engine's peak / per host MiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in data["runs"]:
        engine = r.get("engine") or {}
        chunks = engine.get("chunk_sizes") or r.get("chunk_sizes") or []
        lines.append(
            "| %s | %d | %.1f | %.1f | %.1f | %.1f | %d%s | %d | %d | %s | %s |"
            % (
                LABELS.get(r["what"], r["what"]),
                r["hosts"],
                r["wall_s"],
                r["cpu_s"],
                r["others_cpu_s"],
                floor(data, r["what"], r["hosts"]),
                r["peak_nix_rss_mib"],
                " (stopped: over the limit)" if r["over_limit"] else "",
                r["nix_processes"],
                r["max_concurrent_nix"],
                _chunks(chunks),
                "%s / %s" % (engine["peak_concurrent_rss_mib"], engine["per_host_rss_mib"]) if engine else "-",
            )
        )
    pk, mm = data["per_kind"], data["memory_model"]
    lines += [
        "",
        "## One host alone (wait4: CPU, peak RSS)",
        "",
        "| kind | metadata CPU s | metadata MiB | system drvPath CPU s | system MiB |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for kind in model.KINDS:
        row = (
            kind,
            pk[kind]["metadata"]["cpu_s"],
            pk[kind]["metadata"]["rss_mib"],
            pk[kind]["system"]["cpu_s"],
            pk[kind]["system"]["rss_mib"],
        )
        lines.append("| %s | %.1f | %d | %.1f | %d |" % row)
    lines += [
        "",
        "The three systems in one process: %.1f s CPU, %d MiB. Memory model of one process: %d MiB + "
        "per host %s. Today's chunking measured at %s hosts: the largest size the model keeps within %d MiB "
        "(predicted %s MiB)."
        % (
            pk["together"]["cpu_s"],
            pk["together"]["rss_mib"],
            mm["base_mib"],
            ", ".join("%s %d MiB" % kv for kv in mm["marginal_mib"].items()),
            mm["old_size"],
            mm["limit_mib"],
            mm["old_predicted_mib"],
        ),
        "",
    ]
    return "\n".join(lines)


def _chunks(sizes: List[int]) -> str:
    if len(sizes) <= 12:
        return ", ".join(map(str, sizes))
    return "%s … (%d processes)" % (", ".join(map(str, sizes[:8])), len(sizes))


def plot(data: Dict[str, Any], memory: model.MemoryModel, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for what, style in (("inventory", "o-"), ("build", "s-"), ("new-engine", "D"), ("old-chunking", "x")):
        runs = sorted(
            (r["hosts"], r["peak_nix_rss_mib"]) for r in data["runs"] if r["what"] == what and r["hosts"] >= 10
        )
        if runs:
            ax.plot([h for h, _p in runs], [p for _h, p in runs], style, label=LABELS[what], markersize=8)
    largest = max(r["hosts"] for r in data["runs"])
    kinds = model.KindsOf(model.KINDS)
    xs = list(range(1, largest + 1))
    cores = int(data["machine"]["cores"])
    ax.plot(
        xs,
        [memory.old_chunking(kinds(n), cores) / MIB for n in xs],
        ":",
        color="grey",
        label="today's chunking, predicted by the memory model (not run)",
    )
    ax.axhline(data["budget_mib"], color="red", linestyle="--", label="default eval_memory_budget")
    ax.set_xlabel("real NixOS hosts")
    ax.set_ylabel("peak summed RSS of the Nix processes (MiB)")
    ax.set_title("Evaluation memory against hosts (%s, %s cores)" % (data["machine"]["nix"], data["machine"]["cores"]))
    ax.set_ylim(0, max(14000, data["budget_mib"] * 1.3))
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(str(path))
    plt.close(fig)


def _save(data: Dict[str, Any], memory: model.MemoryModel, out: Path) -> None:
    """real-eval.json (with each kind's cost per added host), real-eval.md and the memory plot."""
    data["per_added_host"] = added_host(data)
    (out / "real-eval.json").write_text(json.dumps(data, indent=1) + "\n")
    (out / "real-eval.md").write_text(markdown(data))
    plot(data, memory, out / "real-eval-memory.png")


def rewrite(out: Path) -> None:
    """Write real-eval.md and the plot again from real-eval.json (the report's code changed)."""
    data = json.loads((out / "real-eval.json").read_text())
    mm = data["memory_model"]
    memory = model.MemoryModel(mm["base_mib"] * MIB, {k: v * MIB for k, v in mm["marginal_mib"].items()})
    _save(data, memory, out)


def write(data: Dict[str, Any], memory: model.MemoryModel, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    data["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    data["targets"] = [t.to_dict() for t in targets(data)]
    _save(data, memory, out)


if __name__ == "__main__":
    import sys

    rewrite(Path(sys.argv[1]))
