"""The pure parts of the real-evaluation benchmark (bench/real_eval_model.py, bench/real_eval_report.py,
bench/nix_sampler.py): today's chunking as the previous engine split hosts, the floor and the targets,
the cost per added host, the memory model that sizes the comparison, and which process is a Nix one.
bench/ is not a package: its modules import each other by name, so the directory goes on sys.path,
as running them from bench/ does."""

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"
sys.path.insert(0, str(BENCH))

import real_eval_model as model  # noqa: E402
import real_eval_report as report  # noqa: E402
from nix_sampler import program  # noqa: E402

MIB = 2**20


@pytest.mark.parametrize(
    "hosts, workers, sizes",
    [
        (20, 2, [10, 10]),  # two processes of ten: the previous engine at 20 hosts on 2 cores
        (13, 2, [7, 6]),  # the 13-host homelab: 7.6 and 7.3 GB processes at once
        (7, 2, [7]),  # fewer than 2 x 4 hosts: one process
        (8, 2, [4, 4]),
        (9, 8, [5, 4]),  # 9 // 4 = 2 processes, of ceil(9 / 2) = 5 hosts and the rest
        (3, 4, [3]),
        (100, 4, [25, 25, 25, 25]),
    ],
)
def test_today_s_chunking_is_the_previous_engine_s_partition(hosts, workers, sizes):
    names = ["h%03d" % i for i in range(hosts)]
    chunks = model.old_partition(names, workers)
    assert [len(c) for c in chunks] == sizes
    assert [h for c in chunks for h in c] == names  # in order, each host once


def test_the_floor_is_the_per_host_cpu_alone_over_the_cores():
    kinds = model.KindsOf(("web", "db", "app"))
    assert kinds(5) == ["web", "db", "app", "web", "db"]
    cpu = {"web": 8.0, "db": 4.0, "app": 5.0}
    # 50 hosts: 17 web, 17 db, 16 app -> 136 + 68 + 80 = 284 s of CPU, 142 s on 2 cores
    assert model.floor_seconds(kinds(50), cpu, 2) == pytest.approx(142.0)
    assert model.floor_seconds(kinds(3), cpu, 1) == pytest.approx(17.0)


def test_a_target_is_met_only_within_the_budget_and_1_3_times_the_floor():
    ok = model.Target("build", 50, peak_mib=3072, budget_mib=3072, wall_s=130.0, floor_s=100.0)
    assert ok.memory_met and ok.wall_met and ok.wall_limit_s == pytest.approx(130.0)
    over = model.Target("inventory", 200, peak_mib=3073, budget_mib=3072, wall_s=130.1, floor_s=100.0)
    assert not over.memory_met and not over.wall_met
    assert over.to_dict()["wall_limit_s"] == 130.0 and over.to_dict()["memory_met"] is False


def test_the_cost_per_added_host_is_the_slope_between_two_sizes():
    assert model.per_added_host(50, 200, 60.0, 300.0) == pytest.approx(1.6)
    assert model.per_added_host(50, 100, 3000.0, 2900.0) == pytest.approx(-2.0)
    with pytest.raises(ValueError):
        model.per_added_host(50, 50, 1.0, 2.0)


def test_the_memory_model_from_each_kind_alone_and_all_together():
    # base 200 MiB; web 1200, db 600, app 600 MiB each: alone 1400 / 800 / 800, together 2600
    memory = model.MemoryModel.from_alone_and_together(
        {"web": 1400 * MIB, "db": 800 * MIB, "app": 800 * MIB}, 2600 * MIB
    )
    assert memory.base == pytest.approx(200 * MIB)
    assert memory.marginal == pytest.approx({"web": 1200 * MIB, "db": 600 * MIB, "app": 600 * MIB})
    kinds = model.KindsOf(("web", "db", "app"))
    # 12 hosts on 2 workers: two processes of 6 (2 web, 2 db, 2 app): 2 x (200 + 4800) MiB
    assert memory.old_chunking(kinds(12), 2) == pytest.approx(10000 * MIB)
    # 13 hosts: 7 (3 web) + 6 (2 web): 200 + 3600 + 2400 and 200 + 2400 + 2400 = 6200 + 5000
    assert memory.old_chunking(kinds(13), 2) == pytest.approx(11200 * MIB)
    assert model.old_fit_size(memory, kinds, 2, 11000 * MIB) == 12
    assert model.old_fit_size(memory, kinds, 2, 100 * MIB) is None


def test_the_report_s_targets_and_costs_from_the_runs():
    per_kind = {
        k: {"metadata": {"cpu_s": m}, "system": {"cpu_s": s}}
        for k, m, s in (("web", 2.0, 8.0), ("db", 1.0, 4.0), ("app", 1.0, 5.0))
    }
    run = {"others_cpu_s": 0.0}
    data = {
        "machine": {"cores": "2"},
        "budget_mib": 3072,
        "per_kind": per_kind,
        "inventory_sizes": [6, 12],
        "build_sizes": [6],
        "runs": [
            dict(run, what="inventory", hosts=6, wall_s=5.0, cpu_s=9.0, peak_nix_rss_mib=2000),
            dict(run, what="inventory", hosts=12, wall_s=11.0, cpu_s=18.0, peak_nix_rss_mib=2600),
            dict(run, what="build", hosts=6, wall_s=30.0, cpu_s=40.0, peak_nix_rss_mib=3100),
        ],
    }
    rows = {(t.what, t.hosts): t for t in report.targets(data)}
    # inventory of 6: metadata 2 + 1 + 1 twice = 8 s over 2 cores = 4 s; 5 s <= 5.2 s
    assert rows[("inventory", 6)].floor_s == pytest.approx(4.0) and rows[("inventory", 6)].wall_met
    # 12 hosts: 8 s floor, 11 s > 10.4 s
    assert rows[("inventory", 12)].floor_s == pytest.approx(8.0) and not rows[("inventory", 12)].wall_met
    # build of 6: systems 2 x 17 = 34 s / 2 = 17 s; 30 s > 22.1 s; 3100 MiB over the budget
    build = rows[("build", 6)]
    assert build.floor_s == pytest.approx(17.0) and not build.wall_met and not build.memory_met
    # the cost per added host between the two target sizes: the inventory's 6 -> 12 hosts, 1 s of wall,
    # 1.5 s of CPU and 100 MiB a host; the build has one size only
    assert report.added_host(data) == {
        "inventory": {"between": [6, 12], "wall_s": 1.0, "cpu_s": 1.5, "peak_mib": 100.0}
    }


@pytest.mark.parametrize(
    "cmdline, name",
    [
        (["/usr/bin/nix", "eval", "--json"], "nix"),
        (["nix-store", "-q"], "nix-store"),
        # tests/fixtures/real-flake/nix-2.18: a Debian 13 root's nix through its loader
        (
            [
                "/var/cache/r/usr/lib64/ld-linux-x86-64.so.2",
                "--argv0",
                "nix",
                "--library-path",
                "/x",
                "/var/cache/r/usr/bin/nix",
            ],
            "nix",
        ),
        (["/bin/sh", "/work/tests/fixtures/real-flake/nix-2.18", "eval"], "sh"),
        (["/lib64/ld-linux-x86-64.so.2", "/usr/bin/python3"], "ld-linux-x86-64.so.2"),
        ([], ""),
    ],
)
def test_which_process_is_a_nix_one(cmdline, name):
    assert program(cmdline) == name


def test_the_uncontended_estimate_takes_the_others_cpu_off_but_never_below_the_run_s_own():
    assert report.uncontended({"wall_s": 98.0, "others_cpu_s": 138.0, "cpu_s": 58.0}, 2) == pytest.approx(29.0)
    assert report.uncontended({"wall_s": 50.0, "others_cpu_s": 90.0, "cpu_s": 40.0}, 2) == pytest.approx(20.0)
