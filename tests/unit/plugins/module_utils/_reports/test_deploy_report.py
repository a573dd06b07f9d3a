"""The deploy report's rows and renderings, from results shaped like the deploy role's."""

from typing import Dict, Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils._reports import deploy_report as dr

NEW = "/nix/store/2mb7x5vvd0zcxi5ypcbrrvqj2wgf2fqf-nixos-system-web-01-24.05"
OLD = "/nix/store/9zq0dz3hy6m5h0vsaxk1aw0v4rf2vhhz-nixos-system-web-01-23.11"
# Closure sizes as the controller measured them: the build's for the new systems, the report's own
# lookup (action plugin) for the previous ones.
SIZES: Dict[str, Optional[int]] = {OLD: 2 * 1024 * 1024}


def switched(started=None, finished=None, **extra):
    if started is not None:
        extra["nixfleet_timing"] = {"started": started, "finished": finished}
    return dict(
        {
            "changed": True,
            "action": "switch",
            "path": NEW,
            "previous_path": OLD,
            "generation": 8,
            "previous_generation": 7,
            "needs_reboot": True,
        },
        **extra,
    )


def built(host):
    return {"closure_sizes": {host: 3 * 1024 * 1024}}


def test_rows():
    # The time runs from the first task's start (copy and switch) to the last one's end (health).
    ok = dr.host_report(
        "web-01",
        {
            "nixos_deploy_build": built("web-01"),
            "nixos_deploy_switch": switched(started=10.0, finished=12.0),
            "nixos_deploy_health": {
                "failed": False,
                "checks": [{}, {}],
                "nixfleet_timing": {"started": 12.0, "finished": 12.5},
            },
        },
        SIZES,
    )
    assert ok.cells() == {
        "host": "web-01",
        "result": "switched",
        "generation": "7 -> 8",
        "system": "2mb7x5vv…-nixos-system-web-01-24.05",
        "closure": "3.0 MiB (+1.0 MiB)",
        "reboot": "NEEDED",
        "health": "ok (2 checks)",
        "time": "2.5s",
    }
    rolled = dr.host_report(
        "web-02",
        {
            "nixos_deploy_switch": switched(),
            "nixos_deploy_failure": "health checks failed …; rolled back to generation 7",
        },
    )
    assert rolled.result == "rolled back" and rolled.message.startswith("health checks failed")
    unreached = dr.host_report("web-03", {"nixos_deploy_path": NEW})
    assert (unreached.result, unreached.message) == ("not deployed", "unreachable, or failed before switching")
    broken = dr.host_report("web-04", {"nixos_deploy_failure": "error: attribute 'x' missing"})
    assert (broken.result, broken.message) == ("failed", "error: attribute 'x' missing")
    unbuilt = dr.host_report("web-07", {"nixos_deploy_build": {"failed_hosts": {"web-07": "error: builder failed"}}})
    assert (unbuilt.result, unbuilt.message) == ("failed", "error: builder failed")
    failed_late = dr.host_report(
        "web-08",
        {
            "nixos_deploy_switch": switched(started=5.0, finished=6.0),
            "nixos_deploy_failure": "x",
            "nixos_deploy_finished": "9.0",
        },
    )
    assert failed_late.seconds == 4.0
    same = dr.host_report(
        "web-05",
        {
            "nixos_deploy_build": built("web-05"),
            "nixos_deploy_switch": switched(changed=False, previous_generation=8, previous_path=NEW),
        },
        SIZES,
    )
    assert same.cells()["generation"] == "8" and same.cells()["closure"] == "3.0 MiB" and same.result == "unchanged"
    units = dr.host_report("web-06", {"nixos_deploy_switch": switched(failed_units=True)})
    assert units.result == "SOME UNITS FAILED"


def test_renderings():
    rows = [
        dr.host_report("a", {"nixos_deploy_build": built("a"), "nixos_deploy_switch": switched()}, SIZES),
        dr.host_report("b|c", {"nixos_deploy_failure": "x"}),
    ]
    text = dr.table(rows).splitlines()
    assert text[0].split() == ["HOST", "RESULT", "GENERATION", "SYSTEM", "CLOSURE", "REBOOT", "HEALTH", "TIME"]
    column = text[0].index("GENERATION")  # columns line up
    assert text[1][column:].startswith("7 -> 8") and text[2][column:].startswith("-")
    assert "| b\\|c | failed: x |" in dr.markdown(rows)
    assert dr.as_json(rows)[0]["closure_change_bytes"] == 1024 * 1024
    assert dr.human(512) == "512 B" and dr.human(1536) == "1.5 KiB"


def test_what_changed_per_host():
    changes = [
        {"name": "openssl", "before": ["3.0.13"], "after": ["3.0.14"], "size_delta": 1229, "kind": "changed"},
        {"name": "jq", "before": [], "after": ["1.7.1"], "size_delta": None, "kind": "added"},
    ]
    many = [{"name": "p%d" % i, "before": ["1"], "after": ["2"], "size_delta": None} for i in range(8)]
    rows = [
        dr.host_report("web-01", {"nixos_deploy_switch": switched(package_changes=changes)}),
        dr.host_report("web-02", {"nixos_deploy_switch": switched(changed=False)}),
        dr.host_report("web-03", {"nixos_deploy_switch": switched(package_changes=many)}),
    ]
    assert rows[0].changes == ["openssl 3.0.13 → 3.0.14 (+1.2 KiB)", "+ jq 1.7.1"]
    assert dr.what_changed(rows) == [
        "web-01: openssl 3.0.13 → 3.0.14 (+1.2 KiB); + jq 1.7.1",
        "web-03: p0 1 → 2; p1 1 → 2; p2 1 → 2; p3 1 → 2; p4 1 → 2; p5 1 → 2; and 2 more",
    ]
    text = dr.text(rows)
    assert text.startswith(dr.table(rows)) and "\nWhat changed:\n  web-01: openssl" in text
    assert "## What changed\n\n- **web-01**: openssl 3.0.13 → 3.0.14 (+1.2 KiB); + jq 1.7.1" in dr.markdown(rows)
    assert dr.as_json(rows)[0]["changes"] == rows[0].changes
    assert dr.text(rows[1:2]) == dr.table(rows[1:2])  # nothing changed: the table alone


def test_who_deployed_is_said_once_under_the_table():
    rows = [
        dr.host_report(h, {"nixos_deploy_build": built(h), "nixos_deploy_switch": switched(deployed_by=by)})
        for h, by in (("web-01", "alice@ctl, AWX job 42 by bob"), ("web-02", "alice@ctl, AWX job 42 by bob"))
    ]
    rows.append(dr.host_report("web-03", {"nixos_deploy_switch": dict(switched(), changed=False)}))
    text = dr.text(rows)
    assert text.count("Deployed by alice@ctl, AWX job 42 by bob (in each host's audit log)\n") == 1
    assert "Deployed by alice@ctl, AWX job 42 by bob." in dr.markdown(rows)
    assert [r["deployed_by"] for r in dr.as_json(rows)] == ["alice@ctl, AWX job 42 by bob"] * 2 + [""]
    assert "Deployed by" not in dr.text([rows[2]])


def test_timings_per_phase_in_the_row_json_and_markdown():
    build = dict(built("web-01"), timings={"evaluation": 4.25, "build": 61.0, "bogus": 1, "copy": "x"})
    switch = switched(timings={"copy": 12.5, "activation": 3.0, "confirmation": 1.5})
    health = {"failed": False, "checks": [{}], "nixfleet_timing": {"started": 20.0, "finished": 22.25}}
    row = dr.host_report(
        "web-01", {"nixos_deploy_build": build, "nixos_deploy_switch": switch, "nixos_deploy_health": health}, SIZES
    )
    # a result's numbers for the known phases only ("bogus" and a non-number are dropped)
    assert row.timings == {
        "evaluation": 4.25,
        "build": 61.0,
        "copy": 12.5,
        "activation": 3.0,
        "confirmation": 1.5,
        "health": 2.25,
    }
    assert dr.as_json([row])[0]["timings"] == row.timings
    skipped = dr.host_report("web-02", {"nixos_deploy_build": build, "nixos_deploy_health": {"skipped": True}})
    assert skipped.timings == {"evaluation": 4.25, "build": 61.0}
    assert dr.markdown([row, skipped]).endswith(
        "## Timings (seconds; evaluation and build: the whole fleet's)\n\n"
        "| host | evaluation | build | copy | activation | confirmation | health |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n"
        "| web-01 | 4.2s | 61.0s | 12.5s | 3.0s | 1.5s | 2.2s |\n"
        "| web-02 | 4.2s | 61.0s | - | - | - | - |\n"
    )
    assert "Timings" not in dr.markdown([dr.host_report("web-03", {})])
