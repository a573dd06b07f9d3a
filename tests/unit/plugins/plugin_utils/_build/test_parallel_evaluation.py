"""The hosts' systems evaluated by several ``nix eval`` processes at once (``SystemBuilder(eval_workers=N)``;
how chunks are sized is tests/unit/plugins/plugin_utils/_build/test_evaluation_pool.py): the processes really overlap, and, with
the real Nix on a copy of the fixture flake, every host gets exactly the system Nix gives it alone."""

import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_argv import NixSettings
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build.system_build import SystemBuilder, SystemTarget

from fake_nix import FakeNix, targets

FIXTURE = Path(__file__).resolve().parents[4] / "fixtures" / "flake"
ATTR = 'nixosConfigurations."%s".config.system.build.toplevel'


class OverlappingNix(FakeNix):
    """After the first (which evaluates its hosts alone, to measure them), each eval waits until
    ``parties`` evals run at the same time (a barrier): evaluations made one after another break it."""

    def __init__(self, parties):
        super().__init__()
        self.barrier = threading.Barrier(parties, timeout=20)
        self.lock = threading.Lock()

    def eval_expr_json(self, expr, what="nix eval"):
        if self.calls:
            self.barrier.wait()
        with self.lock:
            return super().eval_expr_json(expr, what)


def test_the_processes_evaluate_at_the_same_time_and_each_host_keeps_its_system():
    hosts = targets(*["h%02d" % i for i in range(12)])
    nix = OverlappingNix(3)
    report = SystemBuilder(nix, eval_workers=3).check(hosts)
    assert report.nix_calls == ["eval", "eval", "eval", "eval"]  # h00, h01 alone, then three processes at once
    assert report.to_result()["evaluation"]["chunk_sizes"] == [2, 4, 4, 2]
    assert report.paths == {t.host: "/nix/store/%s-nixos-system-%s" % (t.host[1] * 32, t.host) for t in hosts}


def test_a_chunk_that_fails_leaves_its_hosts_to_be_asked_alone_and_the_others_stand():
    hosts = targets(*["h%02d" % i for i in range(8)])
    nix = FakeNix(broken={"h05": "undefined variable 'x'"})
    report = SystemBuilder(nix, eval_workers=2).build(hosts)
    assert set(report.paths) == {t.host for t in hosts} - {"h05"} and "undefined variable 'x'" in report.failed["h05"]


@pytest.fixture(scope="module")
def flake(tmp_path_factory):
    directory = tmp_path_factory.mktemp("parallel-eval") / "flake"
    shutil.copytree(str(FIXTURE), str(directory))
    data = json.loads((directory / "hosts.json").read_text())
    data["hosts"] = {"e%02d" % i: {"version": "1", "fail": "none", "eval_rounds": 1} for i in range(8)}
    (directory / "hosts.json").write_text(json.dumps(data))
    return "path:%s" % directory


@pytest.mark.host_tools
def test_the_real_nix_gives_every_host_the_system_it_gives_that_host_alone(flake):
    hosts = [SystemTarget(host="e%02d" % i, flake=flake, attr=ATTR % ("e%02d" % i)) for i in range(8)]
    parallel = SystemBuilder(NixCli(NixSettings()), eval_workers=2).check(hosts)
    serial = SystemBuilder(NixCli(NixSettings()), eval_workers=1).check(hosts)
    # two hosts alone, then the other six in two processes at once, or in one
    assert parallel.nix_calls == ["eval"] * 3 and serial.nix_calls == ["eval"] * 2
    assert parallel.to_result()["evaluation"]["chunk_sizes"] == [2, 3, 3]
    assert parallel.to_result()["evaluation"]["per_host_rss_mib"] > 0  # measured: the real nix used memory
    assert parallel.drv_paths == serial.drv_paths and parallel.paths == serial.paths and len(parallel.paths) == 8
    for host in ("e00", "e07"):
        alone = subprocess.run(
            [
                "nix",
                "--extra-experimental-features",
                "nix-command flakes",
                "eval",
                "--raw",
                "%s#%s.drvPath" % (flake, ATTR % host),
            ],
            stdout=subprocess.PIPE,
            universal_newlines=True,
            check=True,
        ).stdout
        assert parallel.drv_paths[host] == alone
    # the synthetic evaluation work is in each system (a host without it has another derivation)
    assert len(set(parallel.drv_paths.values())) == 8
