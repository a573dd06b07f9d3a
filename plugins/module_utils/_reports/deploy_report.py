# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""The deploy report: per host, old → new generation, store path, closure size change, reboot,
health and duration, and what changed package by package, from the deploy role's registered
results; as a text table (with a "what changed" line per changed host), Markdown and JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils._progress import phase_timings
from ansible_collections.nixfleet.nixos.plugins.module_utils._reports.package_diff import PackageChange

DEPLOY_VARIABLES = ("nixos_deploy_build", "nixos_deploy_failure", "nixos_deploy_switch")
# Every host variable a report row reads. Only these are read from hostvars: reading all of a host's
# variables would template every registered result (ansible-core 2.21 warns about a deprecated value
# in an empty loop's result, and a report has no business with the rest).
REPORT_VARIABLES = DEPLOY_VARIABLES + ("nixos_deploy_health", "nixos_deploy_finished", "nixos_deploy_gate")
COLUMNS = ("host", "result", "generation", "system", "closure", "reboot", "health", "time")


@dataclass
class HostReport:
    host: str
    result: str
    old_generation: Optional[int] = None
    new_generation: Optional[int] = None
    path: Optional[str] = None
    closure_bytes: Optional[int] = None
    closure_change_bytes: Optional[int] = None
    needs_reboot: Optional[bool] = None
    health: str = "-"
    seconds: Optional[float] = None
    message: str = ""
    changes: List[str] = field(default_factory=list)  # "openssl 3.0.13 → 3.0.14 (+1.2 KiB)", …
    deployed_by: str = ""  # who, as the host's audit log has it: "alice@ctl, AWX job 42 by bob"
    exceptions: List[str] = field(default_factory=list)  # denied versions the gate let through, and why
    timings: Dict[str, float] = field(default_factory=dict)  # seconds per phase (phase_timings.TimedPhase)

    def cells(self) -> Dict[str, str]:
        gen = "-"
        if self.new_generation is not None:
            gen = (
                "%s -> %s" % (self.old_generation if self.old_generation is not None else "none", self.new_generation)
                if self.old_generation != self.new_generation
                else str(self.new_generation)
            )
        closure = "-"
        if self.closure_bytes is not None:
            closure = human(self.closure_bytes)
            if self.closure_change_bytes:
                closure += " (%s%s)" % (
                    "+" if self.closure_change_bytes > 0 else "-",
                    human(abs(self.closure_change_bytes)),
                )
        return {
            "host": self.host,
            "result": self.result + (": " + self.message if self.message else ""),
            "generation": gen,
            "system": short_path(self.path),
            "closure": closure,
            "reboot": "-" if self.needs_reboot is None else ("NEEDED" if self.needs_reboot else "no"),
            "health": self.health,
            "time": "-" if self.seconds is None else "%.1fs" % self.seconds,
        }


def human(size: int) -> str:
    """``512 B``, ``1.5 KiB``, ``3.0 MiB``, ``2.1 GiB``."""
    if size < 1024:
        return "%d B" % size
    value = size / 1024.0
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return "%.1f %s" % (value, unit)
        value /= 1024
    return "%.1f GiB" % value


def short_path(path: Optional[str]) -> str:
    """``/nix/store/abcd…-nixos-system-web-01-24.05`` → ``abcdefgh…-nixos-system-web-01-24.05``."""
    if not path:
        return "-"
    base = path.rsplit("/", 1)[-1]
    return base[:8] + "…" + base[32:] if len(base) > 33 else base


def host_report(host: str, data: Dict[str, Any], sizes: Optional[Dict[str, Optional[int]]] = None) -> HostReport:
    """One host's row from its variables (``nixos_deploy_*`` results of the deploy role); ``sizes``
    has closure sizes by store path from the controller's store (the previous systems)."""
    switch = data.get("nixos_deploy_switch") or {}
    health = data.get("nixos_deploy_health") or {}
    gate = data.get("nixos_deploy_gate") or {}
    failure = (
        data.get("nixos_deploy_failure")
        or ((data.get("nixos_deploy_build") or {}).get("failed_hosts") or {}).get(host)
        or (gate.get("failed_hosts") or {}).get(host)
        or ""
    )
    exceptions = [_exception(f) for f in (gate.get("allowed") or {}).get(host) or []]
    timings = host_timings(data)
    if not switch or switch.get("skipped"):
        result = "failed" if failure else "not deployed"
        return HostReport(
            host,
            result,
            message=failure or "unreachable, or failed before switching",
            seconds=_seconds(data),
            exceptions=exceptions,
            timings=timings,
        )
    # Sizes from the controller's store: the build measured every new system, the report the old ones.
    built_size = ((data.get("nixos_deploy_build") or {}).get("closure_sizes") or {}).get(host)
    previous_size = (sizes or {}).get(switch.get("previous_path") or "")
    report = HostReport(
        host,
        "ok",
        old_generation=switch.get("previous_generation"),
        new_generation=switch.get("generation"),
        path=switch.get("path"),
        closure_bytes=built_size,
        needs_reboot=switch.get("needs_reboot"),
        seconds=_seconds(data),
    )
    report.changes = [_change(c).describe() for c in switch.get("package_changes") or []]
    report.deployed_by = switch.get("deployed_by") or ""
    report.exceptions = exceptions
    report.timings = timings
    if report.closure_bytes is not None and previous_size is not None:
        report.closure_change_bytes = report.closure_bytes - previous_size
    if health and not health.get("skipped"):
        report.health = "FAILED" if health.get("failed") else "ok (%d checks)" % len(health.get("checks", []))
    if failure or switch.get("failed"):
        report.result = "rolled back" if (switch.get("rolled_back") or "rolled back" in failure) else "failed"
        report.message = failure or switch.get("msg", "")
    elif switch.get("failed_units"):
        report.result = "SOME UNITS FAILED"
    elif not switch.get("changed"):
        report.result = "unchanged"
    else:
        report.result = "switched" if switch.get("action") in ("switch", "test", None) else switch["action"]
    return report


def host_timings(data: Dict[str, Any]) -> Dict[str, float]:
    """Seconds per phase for one host: the build task's evaluation and build (all hosts at once), the
    switch's copy, activation and confirmation, the health checks' task."""
    timings = phase_timings.from_result(data.get("nixos_deploy_build"))
    timings.update(phase_timings.from_result(data.get("nixos_deploy_switch")))
    health = data.get("nixos_deploy_health") or {}
    seconds = phase_timings.task_seconds(health) if not health.get("skipped") else None
    if seconds is not None:
        timings[phase_timings.TimedPhase.HEALTH.value] = round(seconds, 3)
    return timings


def timings_markdown(rows: List[HostReport]) -> str:
    """``## Timings``: seconds per phase and host (evaluation and build are the whole fleet's)."""
    phases = [p.value for p in phase_timings.TimedPhase if any(p.value in r.timings for r in rows)]
    if not phases:
        return ""
    lines = ["| host | %s |" % " | ".join(phases), "|%s|" % "|".join([" --- "] * (len(phases) + 1))]
    lines += [
        "| %s | %s |" % (r.host, " | ".join("%.1fs" % r.timings[p] if p in r.timings else "-" for p in phases))
        for r in rows
    ]
    return "\n## Timings (seconds; evaluation and build: the whole fleet's)\n\n" + "\n".join(lines) + "\n"


def _exception(finding: Dict[str, Any]) -> str:
    """``openssl 3.0.13 (denied by openssl <3.0.14) allowed until 2026-12-31: isolated``."""
    allowed = finding.get("allowed") or {}
    return "%s %s (denied by %s) allowed until %s: %s" % (
        finding.get("name"),
        finding.get("version"),
        finding.get("denied_by"),
        allowed.get("expires"),
        allowed.get("reason"),
    )


def _change(data: Dict[str, Any]) -> PackageChange:
    return PackageChange(
        data.get("name", "?"), tuple(data.get("before") or ()), tuple(data.get("after") or ()), data.get("size_delta")
    )


def what_changed(rows: List[HostReport], most: int = 6) -> List[str]:
    """``HOST: change; change; and N more`` for each host whose packages changed."""
    return ["%s: %s" % (r.host, summary_of(r.changes, most)) for r in rows if r.changes]


def summary_of(described: List[str], most: int) -> str:
    shown = described[:most] + (["and %d more" % (len(described) - most)] if len(described) > most else [])
    return "; ".join(shown)


def _seconds(data: Dict[str, Any]) -> Optional[float]:
    """From the first to the last of the host's deploy tasks (each result says when it ran; a
    rescued failure notes when it gave up in ``nixos_deploy_finished``)."""
    results = [data.get(name) or {} for name in ("nixos_deploy_switch", "nixos_deploy_health")]
    timings = [r.get("nixfleet_timing") or {} for r in results]
    starts = [t["started"] for t in timings if t.get("started") is not None]
    ends = [t["finished"] for t in timings if t.get("finished") is not None]
    start = min(starts) if starts else None
    end = data.get("nixos_deploy_finished") or (max(ends) if ends else None)
    if start is None or end is None:
        return None
    try:
        return float(end) - float(start)
    except (TypeError, ValueError):
        return None


def table(rows: List[HostReport]) -> str:
    cells = [r.cells() for r in rows]
    widths = {c: max([len(c)] + [len(row[c]) for row in cells]) for c in COLUMNS}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in COLUMNS).rstrip()]
    lines += ["  ".join(row[c].ljust(widths[c]) for c in COLUMNS).rstrip() for row in cells]
    return "\n".join(lines) + "\n"


def deployers(rows: List[HostReport]) -> List[str]:
    """Who changed the hosts (once each; one deploy has one, a report of several runs more)."""
    return sorted({r.deployed_by for r in rows if r.deployed_by})


def exceptions(rows: List[HostReport]) -> List[str]:
    """``HOST: exception; exception`` for each host the gate let a denied version through on."""
    return ["%s: %s" % (r.host, "; ".join(r.exceptions)) for r in rows if r.exceptions]


def text(rows: List[HostReport]) -> str:
    """The table, who deployed, what changed on each host, and the gate's exceptions."""
    changed = what_changed(rows)
    by = deployers(rows)
    allowed = exceptions(rows)
    return (
        table(rows)
        + ("Deployed by %s (in each host's audit log)\n" % "; ".join(by) if by else "")
        + ("\nWhat changed:\n" + "".join("  %s\n" % line for line in changed) if changed else "")
        + (
            "\nAllowed by exception (the deploy gate):\n" + "".join("  %s\n" % line for line in allowed)
            if allowed
            else ""
        )
    )


def markdown(rows: List[HostReport]) -> str:
    lines = ["| %s |" % " | ".join(COLUMNS), "|%s|" % "|".join([" --- "] * len(COLUMNS))]
    lines += ["| %s |" % " | ".join(r.cells()[c].replace("|", "\\|") for c in COLUMNS) for r in rows]
    changes = ["- **%s**: %s" % (r.host, "; ".join(r.changes)) for r in rows if r.changes]
    by = deployers(rows)
    allowed = ["- **%s**: %s" % (r.host, "; ".join(r.exceptions)) for r in rows if r.exceptions]
    return (
        "# Deploy report\n\n"
        + "\n".join(lines)
        + "\n"
        + ("\nDeployed by %s.\n" % "; ".join(by) if by else "")
        + ("\n## What changed\n\n" + "\n".join(changes) + "\n" if changes else "")
        + ("\n## Allowed by exception (the deploy gate)\n\n" + "\n".join(allowed) + "\n" if allowed else "")
        + timings_markdown(rows)
    )


def as_json(rows: List[HostReport]) -> List[Dict[str, Any]]:
    return [asdict(r) for r in rows]
