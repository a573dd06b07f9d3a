"""EvaluationPool (plugins/plugin_utils/_build/evaluation_pool.py): hosts evaluated in chunks whose size
follows a memory budget, measured from the first host; on processes whose cost follows what real
NixOS hosts cost (shared/nixpkgs/README.md: 1 / 4 / 10 hosts in one nix eval peak at 0.8 / 2.7 /
6.6 GB, about 160 MiB of start-up and 640 MiB a host)."""

import threading
import time
from typing import List

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError, NixTooOld
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.evaluation_pool import (
    MIB,
    ChunkResult,
    EvaluationPool,
    overlapping_peak,
    pool_settings,
)

BASE, PER_HOST = 160 * MIB, 640 * MIB


class ModelNix:
    """Each call is one process: it peaks at BASE + what its hosts cost, runs ``seconds`` and records
    how much the processes running at the same time held together."""

    def __init__(self, per_host=PER_HOST, heavy=None, broken=(), seconds=0.03, base=BASE):
        self.base, self.per_host, self.heavy, self.broken, self.seconds = (
            base,
            per_host,
            heavy or {},
            set(broken),
            seconds,
        )
        self.lock = threading.Lock()
        self.running = self.most_running = 0
        self.chunks = []

    def cost(self, chunk):
        return self.base + sum(self.heavy.get(h, self.per_host) for h in chunk)

    def __call__(self, chunk):
        rss = self.cost(chunk)
        with self.lock:
            self.chunks.append(list(chunk))
            self.running += rss
            self.most_running = max(self.most_running, self.running)
        time.sleep(self.seconds)
        with self.lock:
            self.running -= rss
        if self.broken & set(chunk):
            raise NixError(
                "nix eval of the systems failed",
                rc=1,
                stderr="error: attribute 'fileSystems' missing\n       at «string»:1:2:\n",
            )
        return ChunkResult({h: "system of %s" % h for h in chunk}, rss, 4.5 * len(chunk))


HOSTS = ["h%02d" % i for i in range(20)]


def test_the_first_chunk_alone_then_what_fits_each_share_of_the_budget():
    nix = ModelNix()
    pool = EvaluationPool(nix, budget=3072 * MIB, workers=2)
    values = pool.run(HOSTS)
    assert values == {h: "system of %s" % h for h in HOSTS}
    # alone, 2 hosts (3 GiB at 1400 MiB a host): 160 + 2 x 640 = 1440 MiB, 720 a host; then two
    # processes at once, each with what fits 1536 MiB: 2 hosts (both together 2880 MiB)
    assert pool.report.chunk_sizes == [2] * 10
    assert nix.chunks[0] == HOSTS[:2] and nix.running == 0
    assert nix.most_running == 2 * (BASE + 2 * PER_HOST) <= 3072 * MIB
    assert pool.report.peak_concurrent_rss <= 3072 * MIB
    assert pool.report.per_host_rss == (BASE + 2 * PER_HOST) // 2 and pool.report.peak_rss == BASE + 2 * PER_HOST
    assert sorted(h for chunk in nix.chunks for h in chunk) == HOSTS  # each once (threads start in any order)


def test_chunks_grow_with_the_budget():
    nix = ModelNix()
    pool = EvaluationPool(nix, budget=8192 * MIB, workers=2)
    pool.run(HOSTS)
    # alone, 4 hosts (2720 MiB, 680 a host); 4 GiB each: 6 hosts; the last 4 in one process
    assert pool.report.chunk_sizes == [4, 6, 6, 4]
    assert nix.most_running <= 8192 * MIB


def test_a_small_cheap_fleet_is_one_process_and_a_larger_one_a_few():
    pool = EvaluationPool(ModelNix(per_host=2 * MIB, base=60 * MIB), budget=3072 * MIB, workers=2)
    pool.run(HOSTS[:9])
    assert pool.report.chunk_sizes == [2, 4, 3]  # after the first, 7 left: two processes at once
    pool = EvaluationPool(ModelNix(per_host=2 * MIB, base=60 * MIB), budget=3072 * MIB, workers=2)
    pool.run(HOSTS[:2])
    assert pool.report.chunk_sizes == [2]  # a small fleet: one process


def test_fewer_processes_run_at_once_when_one_host_each_would_not_fit():
    nix = ModelNix()
    pool = EvaluationPool(nix, budget=1200 * MIB, workers=2)
    pool.run(HOSTS[:6])
    assert pool.report.chunk_sizes == [1] * 6 and nix.most_running == BASE + PER_HOST  # one at a time
    assert pool.report.over_budget == {}


def test_a_host_that_alone_needs_more_than_the_budget_is_named():
    nix = ModelNix(heavy={"big": 2000 * MIB})
    pool = EvaluationPool(nix, budget=1500 * MIB, workers=2)
    values = pool.run(["big", "a", "b", "c"])
    assert set(values) == {"big", "a", "b", "c"}
    assert pool.report.over_budget == {"big": BASE + 2000 * MIB}
    assert pool.report.chunk_sizes == [1, 1, 1, 1] and nix.most_running == BASE + 2000 * MIB  # then one at a time


def test_a_broken_host_never_fails_its_chunks_other_hosts():
    nix = ModelNix(per_host=2 * MIB, broken={"h06"})
    pool = EvaluationPool(nix, budget=3072 * MIB, workers=2)
    values = pool.run(HOSTS[:9])
    assert set(values) == set(HOSTS[:9]) - {"h06"}
    assert pool.report.failed == {"h06": "error: attribute 'fileSystems' missing\n       at «string»:1:2:"}
    # [h00, h01] alone, then [h02-h05] and [h06-h08] (fails: its three hosts again, each alone)
    assert nix.chunks[0] == HOSTS[:2] and sorted(nix.chunks[1:3]) == [HOSTS[2:6], HOSTS[6:9]]
    assert sorted(nix.chunks[3:]) == [[h] for h in HOSTS[6:9]]


def test_a_failing_first_chunk_is_not_taken_as_measured():
    nix = ModelNix(broken={"h00"})
    pool = EvaluationPool(nix, budget=1024 * MIB, workers=2)
    pool.run(HOSTS[:3])
    assert nix.chunks[:2] == [["h00"], ["h01"]] and pool.report.failed.keys() == {"h00"}


def test_overlapping_peak_sums_the_processes_alive_together():
    spans = [(0.0, 2.0, 100), (1.0, 3.0, 200), (2.5, 4.0, 50), (5.0, 6.0, 400)]
    assert overlapping_peak(spans) == 400  # 100 + 200 at 1.0; 200 + 50 at 2.5; 400 alone
    assert overlapping_peak(spans[:3]) == 300 and overlapping_peak([]) == 0


def test_settings_that_mean_nothing_are_refused():
    assert pool_settings(3, 3072) == (3, 3072 * MIB)
    assert pool_settings(0, 100)[0] >= 1
    with pytest.raises(ValueError, match="nixos_deploy_eval_workers must be 0"):
        pool_settings(-1, 3072, "nixos_deploy_")
    with pytest.raises(ValueError, match="eval_memory_budget must be at least 64"):
        pool_settings(1, 10)


def test_a_nix_the_flake_refuses_ends_the_evaluation_at_once():
    chunks: List[object] = []

    def refuse(chunk):
        chunks.append(chunk)
        raise NixTooOld("the flake's nixpkgs needs a newer Nix than the controller's (Nix 2.8.0)")

    pool = EvaluationPool(refuse, budget=3072 * MIB, workers=2)
    with pytest.raises(NixTooOld, match="needs a newer Nix"):
        pool.run(HOSTS)
    assert chunks == [HOSTS[:2]]  # not every host again, alone


def test_kinds_are_sized_on_their_own_and_processes_start_when_they_fit():
    """NixOS systems beside deploy-rs profiles (tens of MB): the profiles are not one a process because
    a system was expensive; and a process starts only when what runs and it fit the budget."""
    systems = ["s%02d" % i for i in range(6)]
    profiles = ["p%02d" % i for i in range(12)]
    nix = ModelNix(heavy={p: 10 * MIB for p in profiles})
    pool = EvaluationPool(nix, budget=3072 * MIB, workers=2, kind=lambda h: h[0])
    values = pool.run(systems + profiles)
    assert set(values) == set(systems + profiles)
    sizes = [len(c) for c in nix.chunks]
    kinds = ["".join(sorted({h[0] for h in c})) for c in nix.chunks]
    assert all(len(k) == 1 for k in kinds)  # a chunk holds one kind
    assert sizes[kinds.index("p") :] == [2, 5, 5]  # the profiles' first two alone, then two halves of the rest
    assert nix.most_running <= 3072 * MIB
