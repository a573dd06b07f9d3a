"""The benchmark (bench/): it runs and measures what it says, its committed report is what its
committed samples give, and docs/performance.md reports those numbers."""

import json
import subprocess
import sys

import pytest

from fleetctl import ROOT

pytestmark = pytest.mark.integration

BENCH = ROOT / "bench"
SCENARIOS = {"cold", "noop", "shared-changed"}
METHODS = {"nixfleet", "sequential", "parallel"}
# The machine description names the Nix the benchmark ran with (each Debian has its own).
NIX_VERSION = subprocess.run(
    ["nix", "--version"], stdout=subprocess.PIPE, universal_newlines=True, check=True
).stdout.split()[-1]


def test_a_small_benchmark_runs_and_verifies_every_deploy(tmp_path):
    out = tmp_path / "results"
    proc = subprocess.run(
        [
            sys.executable,
            "fleet_bench.py",
            "--sizes",
            "2",
            "--repeat",
            "1",
            "--no-memory",
            "--eval-sizes",
            "8",
            "--cache-sizes",
            "2",
            "--slice-sizes",
            "4",
            "--out",
            str(out),
            "--work",
            str(tmp_path / "work"),
        ],
        cwd=str(BENCH),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    records = json.loads((out / "results.json").read_text())
    runs = {(r["method"], r["scenario"]) for r in records}
    assert {(m, s) for m in METHODS for s in SCENARIOS} <= runs and ("floor", "noop") in runs
    by = {(r["method"], r["scenario"]): r for r in records}
    # Nix processes on the controller: the inventory evaluates once uncached and never from its cache;
    # a no-op deploy is one path-info (cached inventory, cached evaluations: no nix eval at all); the
    # baselines run two per host.
    assert by[("inventory", "uncached")]["nix_processes"] == 1
    assert by[("inventory", "cached")]["nix_processes"] == 0
    assert by[("nixfleet", "noop")]["nix_processes"] == 1 and by[("nixfleet", "noop")]["nix_evals"] == 0
    assert by[("nixfleet", "cold")]["nix_evals"] >= 1
    assert by[("parallel", "noop")]["nix_processes"] == 4
    # A changed shared package crossed loopback at least once per host (its NAR bytes), for every method.
    for method in METHODS:
        changed = by[(method, "shared-changed")]
        assert changed["needed_bytes"] > 2 * 1024 * 1024 and changed["loopback_bytes"] >= changed["needed_bytes"]
    # The evaluation-heavy build phase: one eval process, then one per core (two evals of four hosts
    # on two cores), every record with its controller CPU.
    phase = {r["scenario"]: r for r in records if r["method"] == "evaluation"}
    assert {"build-phase-one-process", "build-phase-per-core", "one-host-alone"} <= set(phase)
    cores = phase["build-phase-per-core"]["cores"]
    assert (
        phase["build-phase-per-core"]["nix_processes"]
        == phase["build-phase-one-process"]["nix_processes"] + min(cores, 2) - 1
    )
    # the same build phase again, nothing changed: the evaluation cache answers, no nix eval runs
    assert phase["build-phase-unchanged"]["nix_evals"] == 0 and phase["build-phase-per-core"]["nix_evals"] >= 1
    # The cache path: the closures went up to the cache once (about one copy of their NAR bytes, the
    # random payloads do not compress) and the hosts pulled them from there (two hosts: more than once).
    cache = by[("nixfleet-cache", "cold")]
    assert 0.97 * cache["needed_bytes"] <= cache["uploaded_bytes"] <= 1.03 * cache["needed_bytes"]
    assert cache["served_bytes"] > cache["uploaded_bytes"] and cache["controller_bytes"] < cache["loopback_bytes"]
    # AWX slicing: four slice jobs built exactly what one job builds (Nix's post-build-hook counted)
    sliced, whole = by[("awx-slices", "cold-4-slices")], by[("awx-slices", "cold-1-slice")]
    assert sliced["derivations_built"] == whole["derivations_built"] > 0
    assert all(
        r["cpu_seconds"] > 0 for r in records if r["method"] != "inventory" or r["scenario"] != "static-one-host"
    )
    text = (out / "results.md").read_text()
    assert "## Targets" in text and "## Machine" in text and "Nix: nix (Nix) %s" % NIX_VERSION in text
    assert (out / "deploy-times.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Nothing of the scene is left running.
    assert (
        subprocess.run(["ss", "-ltn"], stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout.count(
            "127.0.70."
        )
        == 0
    )


def test_committed_results_are_complete_and_the_guide_reports_them():
    records = json.loads((BENCH / "results" / "results.json").read_text())
    for size in (5, 20, 50):
        for method in METHODS:
            for scenario in SCENARIOS:
                assert (
                    len([r for r in records if (r["size"], r["method"], r["scenario"]) == (size, method, scenario)])
                    == 3
                )
        assert len([r for r in records if (r["size"], r["method"]) == (size, "floor")]) == 3
    assert {r["method"] for r in records if r["scenario"] == "memory-cold"} == METHODS
    assert {r["size"] for r in records if r["method"] == "nixfleet-cache"} == {20, 50}
    assert {(r["size"], r["slices"]) for r in records if r["method"] == "awx-slices"} == {(50, 4), (50, 1)}
    assert [r["nix_evals"] for r in records if r["scenario"] == "build-phase-unchanged"] == [0]
    assert (BENCH / "results" / "deploy-times.png").exists() and (BENCH / "results" / "machine.md").exists()
    sys.path.insert(0, str(BENCH))
    from targets import targets  # noqa: E402

    # The committed report's targets are what the committed samples give, met or missed.
    text = (BENCH / "results" / "results.md").read_text()
    table = text[text.index("## Targets") :].split("\n## ")[0]
    rows = [line.split(" | ") for line in table.splitlines()[4:] if line.startswith("| ")]
    sizes = sorted({r["size"] for r in records if r["method"] == "nixfleet"})
    computed = targets(records, sizes)
    assert (
        [(r[0][2:], r[1], r[2], r[3][:-2]) for r in rows]
        == [(name, measured, limit, "yes" if met else "**no**") for name, measured, limit, met in computed]
        != []
    )
    # Every target's ratio at 5, 20 and 50 hosts, met or not, is in the performance guide.
    performance = (ROOT / "docs" / "performance.md").read_text()
    for name, measured, _limit, _met in targets(records, (5, 20, 50)):
        assert "%s×" % measured in performance, name
