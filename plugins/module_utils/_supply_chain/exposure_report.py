# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""The fleet's exposure to a package, from each host's ``nixfleet.nixos.exposure`` result: a text
table (a row per system of each host), a summary (which hosts run it now, after the next boot,
after a rollback), Markdown and JSON."""

from __future__ import annotations

from typing import Any, Callable, Dict, List

from ansible_collections.nixfleet.nixos.plugins.module_utils._reports.deploy_report import short_path

COLUMNS = ("host", "system", "in", "versions", "match", "why")
ARROW = " → "


def why(chain: List[str]) -> str:
    """``nixos-system-web-01-2 → curl-8.5.0 → openssl-3.0.13`` (store path names)."""
    return ARROW.join(p.rsplit("/", 1)[-1][33:] or p for p in chain)


def rows(results: List[Dict[str, Any]]) -> List[Dict[str, str]]:
    """The table's rows: one per system of each host (``results``: the hosts' exposure results)."""
    table = []
    for result in results:
        host = result.get("host", "?")
        if result.get("error") or not result.get("systems"):
            table.append(
                {
                    "host": host,
                    "system": "-",
                    "in": "-",
                    "versions": "-",
                    "match": "-",
                    "why": result.get("error") or "no system on the host",
                }
            )
            continue
        for system in result["systems"]:
            matches = system.get("matches") or []
            table.append(
                {
                    "host": host,
                    "system": short_path(system["path"]),
                    "in": ", ".join(system["roles"]),
                    "versions": ", ".join(system.get("versions") or []) or "-",
                    "match": "YES" if matches else "no",
                    "why": why(matches[0]["chain"]) + (" (+%d more)" % (len(matches) - 1) if len(matches) > 1 else "")
                    if matches
                    else "",
                }
            )
    return table


Result = Dict[str, Any]


def _hosts(results: List[Result], test: Callable[[Result], Any]) -> List[str]:
    return sorted(r["host"] for r in results if not r.get("error") and test(r))


def _running(result: Result) -> bool:
    return bool(result.get("running_exposed"))


def _booted(result: Result) -> bool:
    return bool(result.get("booted_exposed"))


def _next_boot(result: Result) -> bool:
    return any(s.get("matches") and s.get("current") for s in result.get("systems") or [])


def _rollback(result: Result) -> bool:
    return any(s.get("matches") and s.get("generations") and not s.get("current") for s in result.get("systems") or [])


def _sbom(result: Result) -> bool:
    return result.get("source") == "sbom" and bool(result.get("exposed"))


def summary(results: List[Dict[str, Any]]) -> List[str]:
    """Which hosts have a matching version now, after the next boot, after a rollback, and which
    could not be read."""
    if not results:
        return ["no host was scanned"]
    first = next((r for r in results if r.get("package")), {})
    what = "%s%s" % (first.get("package", "?"), " " + first["constraint"] if first.get("constraint") else "")
    lines = []
    for label, test in (
        ("running now", _running),
        ("in the booted system", _booted),
        ("after the next boot (the profile's current generation)", _next_boot),
        ("after a rollback (an older kept generation)", _rollback),
        ("in an SBOM", _sbom),
    ):
        hosts = _hosts(results, test)
        if hosts:
            lines.append("%s %s on %d of %d hosts: %s" % (what, label, len(hosts), len(results), ", ".join(hosts)))
    if not any(r.get("exposed") for r in results):
        lines.append("%s: on none of %d hosts" % (what, len(results)))
    failed = sorted(r["host"] for r in results if r.get("error"))
    if failed:
        lines.append("not read: %s" % ", ".join(failed))
    return lines


def table(results: List[Dict[str, Any]]) -> str:
    cells = rows(results)
    widths = {c: max([len(c)] + [len(row[c]) for row in cells]) for c in COLUMNS}
    out = ["  ".join(c.upper().ljust(widths[c]) for c in COLUMNS).rstrip()]
    out += ["  ".join(row[c].ljust(widths[c]) for c in COLUMNS).rstrip() for row in cells]
    return "\n".join(out) + "\n" + "".join(line + "\n" for line in summary(results))


def markdown(results: List[Dict[str, Any]]) -> str:
    lines = ["# Package exposure", "", "| %s |" % " | ".join(COLUMNS), "|%s|" % "|".join([" --- "] * len(COLUMNS))]
    lines += ["| %s |" % " | ".join(row[c].replace("|", "\\|") or " " for c in COLUMNS) for row in rows(results)]
    lines += [""] + ["- %s" % line for line in summary(results)]
    return "\n".join(lines) + "\n"
