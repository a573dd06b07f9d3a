"""plugins/action/exposure_report.py: the fleet's exposure table from each host's registered
exposure result (here the real result of the exposure action on Nix's recorded graph)."""

import json
from pathlib import Path

from action_harness import ActionShell, run_action, said
from recorded_outputs import RECORDED_OUTPUTS as OUTPUTS

VERSION = sorted(p.parent.name for p in OUTPUTS.glob("*/graph.txt"))[0]


def exposure_of_web():
    old, new = (OUTPUTS / VERSION / "graph-roots.txt").read_text().split()
    graph = (OUTPUTS / VERSION / "graph.txt").read_text()
    text = (
        "profile\tsystem-2-link\ngeneration\tsystem-1-link\t%s\t1\ngeneration\tsystem-2-link\t%s\t2\n"
        "running\t%s\nbooted\t%s\nexposure\tgraph\n%s" % (old, new, new, old, graph)
    )
    return run_action("exposure", {"package": "openssl<3.0.14"}, ActionShell(commands={"nix-store": said(stdout=text)}))


def hostvars():
    return {
        "web": {"nixos_exposure": exposure_of_web()},
        "db": {"nixos_exposure": {"skipped": True}},
        "api": {"nixos_exposure": {"failed": True, "msg": "api: reading the systems failed"}},
    }


def test_the_report_names_exposed_and_unread_hosts(tmp_path):
    result = run_action(
        "exposure_report",
        {"hosts": ["web", "db", "api", "gone"], "output_dir": str(tmp_path)},
        task_vars={"hostvars": hostvars()},
    )
    assert not result.get("failed"), result
    assert result["exposed_hosts"] == ["web"] and result["failed_hosts"] == ["api", "db", "gone"]
    by_host = {r["host"]: r for r in result["report"]}
    assert by_host["db"]["error"] == by_host["gone"]["error"] == "not scanned (unreachable, or left out)"
    assert by_host["api"]["error"] == "api: reading the systems failed"
    assert by_host["web"]["running_exposed"] is True and by_host["web"]["error"] == ""
    assert "msg" not in by_host["web"] and "changed" not in by_host["web"]  # only the exposure fields
    assert "openssl <3.0.14 running now on 1 of 4 hosts: web" in result["msg"]
    assert sorted(Path(f).name for f in result["files"]) == [
        "exposure-report.json",
        "exposure-report.md",
        "exposure-report.txt",
    ]
    assert json.loads((tmp_path / "exposure-report.json").read_text()) == result["report"]
    assert (tmp_path / "exposure-report.txt").read_text() == result["msg"][1:]
    assert (tmp_path / "exposure-report.md").read_text().startswith("# Package exposure\n")


def test_check_mode_writes_no_files(tmp_path):
    result = run_action(
        "exposure_report",
        {"hosts": ["web"], "output_dir": str(tmp_path / "out")},
        task_vars={"hostvars": hostvars()},
        check_mode=True,
    )
    assert result["files"] == [] and not (tmp_path / "out").exists()
    assert result["exposed_hosts"] == ["web"]


def test_another_result_variable(tmp_path):
    vars_ = {"web": {"scan": exposure_of_web()}}
    result = run_action("exposure_report", {"hosts": ["web"], "result_var": "scan"}, task_vars={"hostvars": vars_})
    assert result["exposed_hosts"] == ["web"] and result["files"] == []
