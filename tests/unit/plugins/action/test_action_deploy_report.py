"""plugins/action/deploy_report.py: the report of the hosts the deploy touched, read from their
``nixos_deploy_*`` variables only; the previous systems' closure sizes from the controller's store (the
real Nix); the report written as JSON, Markdown and text to output_dir, except in check mode; it never
changes anything."""

import json
import subprocess

import pytest

from action_harness import run_action

NEW = "/nix/store/2mb7x5vvd0zcxi5ypcbrrvqj2wgf2fqf-nixos-system-web-24.05"
GONE = "/nix/store/9zq0dz3hy6m5h0vsaxk1aw0v4rf2vhhz-nixos-system-web-23.11"  # never in this store


class OnlyReportVariables(dict):
    """A host's variables that fail the test when one not meant for the report is read (reading a
    registered result would template it)."""

    ALLOWED = {
        "nixos_deploy_build",
        "nixos_deploy_failure",
        "nixos_deploy_switch",
        "nixos_deploy_health",
        "nixos_deploy_finished",
        "nixos_deploy_gate",
    }

    def __getitem__(self, name):
        if name not in self.ALLOWED:
            raise AssertionError("the report read %s" % name)
        return super().__getitem__(name)


def switched(previous):
    return {
        "changed": True,
        "action": "switch",
        "path": NEW,
        "previous_path": previous,
        "generation": 8,
        "previous_generation": 7,
        "needs_reboot": False,
        "deployed_by": "alice@ctl",
    }


def hostvars(previous=GONE):
    return {
        "web": OnlyReportVariables(
            nixos_deploy_switch=switched(previous),
            nixos_deploy_build={"closure_sizes": {"web": 3 * 1024 * 1024}},
            secret_result={"huge": "never read"},
        ),
        "db": OnlyReportVariables(nixos_deploy_failure="db: nix eval failed: undefined variable 'x'"),
        "outside": OnlyReportVariables(ansible_host="127.0.0.1"),  # outside --limit: no deploy variables
    }


def report(args, check_mode=False, previous=GONE):
    return run_action("deploy_report", args, check_mode=check_mode, task_vars={"hostvars": hostvars(previous)})


def test_the_touched_hosts_rows_and_the_table():
    result = report({"hosts": ["web", "db", "outside", "unknown"]})
    assert not result.get("failed"), result
    assert result["changed"] is False and result["files"] == []
    rows = {row["host"]: row for row in result["report"]}
    assert list(rows) == ["web", "db"]  # in the order asked, untouched hosts left out
    web, db = rows["web"], rows["db"]
    assert (web["result"], web["old_generation"], web["new_generation"], web["path"]) == ("switched", 7, 8, NEW)
    assert web["closure_bytes"] == 3 * 1024 * 1024 and web["closure_change_bytes"] is None  # GONE's size unknown
    assert web["deployed_by"] == "alice@ctl"
    assert (db["result"], db["message"]) == ("failed", "db: nix eval failed: undefined variable 'x'")
    assert result["table"] == result["msg"].strip("\n").splitlines()
    assert result["table"][0].split() == [
        "HOST",
        "RESULT",
        "GENERATION",
        "SYSTEM",
        "CLOSURE",
        "REBOOT",
        "HEALTH",
        "TIME",
    ]
    assert any(line.split()[:5] == ["web", "switched", "7", "->", "8"] for line in result["table"])
    assert "Deployed by alice@ctl (in each host's audit log)" in result["table"]


@pytest.mark.host_tools
def test_the_previous_systems_size_comes_from_the_controllers_store(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "file").write_bytes(b"x" * 4096)
    old = subprocess.run(
        ["nix-store", "--add", str(tmp_path / "old")], stdout=subprocess.PIPE, text=True, check=True
    ).stdout.strip()
    size = int(
        subprocess.run(
            ["nix", "--extra-experimental-features", "nix-command", "path-info", "--closure-size", old],
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        ).stdout.split()[-1]
    )
    result = report({"hosts": ["web"]}, previous=old)
    [web] = result["report"]
    assert web["closure_change_bytes"] == 3 * 1024 * 1024 - size


def test_the_report_is_written_in_three_forms(tmp_path):
    out = tmp_path / "reports" / "today"
    result = report({"hosts": ["web", "db"], "output_dir": str(out)})
    assert not result.get("failed"), result
    assert result["files"] == [str(out / n) for n in ("deploy-report.json", "deploy-report.md", "deploy-report.txt")]
    assert json.loads((out / "deploy-report.json").read_text()) == result["report"]
    assert (out / "deploy-report.txt").read_text() == result["msg"][1:]
    markdown = (out / "deploy-report.md").read_text()
    assert markdown.startswith("# Deploy report\n\n| host | result | generation |")
    assert "| web | switched | 7 -> 8 |" in markdown
    assert result["changed"] is False  # a report on the controller changes no host


def test_check_mode_writes_no_files(tmp_path):
    result = report({"hosts": ["web"], "output_dir": str(tmp_path / "out")}, check_mode=True)
    assert result["files"] == [] and not (tmp_path / "out").exists()
    assert [row["host"] for row in result["report"]] == ["web"]


def test_an_output_dir_that_cannot_be_made_is_a_clear_error(tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("")
    result = report({"hosts": ["web"], "output_dir": str(blocked / "sub")})
    assert result["failed"] is True
    assert result["msg"].startswith("writing the deploy report to %s failed: " % (blocked / "sub"))
