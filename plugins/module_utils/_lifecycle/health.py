# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Health checks, morph-style: ``cmd``, ``http`` (status, body regex, a JMESPath query of a JSON body)
and ``systemd``, each retried.

What to run on the target is built here as POSIX shell; how to judge each answer is decided
here too, so the action plugin only loops.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_operation import Operation
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command, argv, raw

try:
    import jmespath
except ImportError:  # pragma: no cover - only checks that use json_query need it
    jmespath = None

CHECK_TYPES = ("cmd", "http", "systemd")
STATUS_MARK = "\nnixfleet-http-status:"


@dataclass(frozen=True)
class Check:
    """One check, with its retry policy (``retries`` more attempts after the first)."""

    name: str
    type: str
    argv: Tuple[str, ...] = ()
    url: Optional[str] = None
    status: Tuple[int, ...] = ()
    body: Optional[str] = None
    json_query: Optional[str] = None  # a JMESPath expression the JSON body must make true
    validate_certs: bool = True
    source: str = "controller"
    retries: int = 5
    delay: float = 2.0
    timeout: float = 5.0

    def accepts_status(self, code: int) -> bool:
        return code in self.status if self.status else 200 <= code < 300


def http_url(spec: Dict[str, Any]) -> str:
    if spec.get("url"):
        return spec["url"]
    if not spec.get("host"):
        raise ValueError("an http check needs url, or host (with port, path, scheme)")
    port = ":%d" % spec["port"] if spec.get("port") else ""
    path = spec.get("path") or "/"
    return "%s://%s%s%s" % (
        spec.get("scheme") or "http",
        spec["host"],
        port,
        path if path.startswith("/") else "/" + path,
    )


def parse_check(spec: Dict[str, Any], index: int) -> Check:
    """A check from its (already type-validated) task argument."""
    kind = spec.get("type")
    name = spec.get("name") or "%s check %d" % (kind, index + 1)
    common: Dict[str, Any] = dict(
        name=name,
        type=kind,
        retries=int(spec.get("retries", 5)),
        delay=float(spec.get("delay", 2)),
        timeout=float(spec.get("timeout", 5)),
    )
    if kind == "cmd":
        if not spec.get("argv"):
            raise ValueError("%s: a cmd check needs argv" % name)
        return Check(argv=tuple(str(a) for a in spec["argv"]), **common)
    if kind == "http":
        status = spec.get("status") or []
        if spec.get("body"):
            re.compile(spec["body"])
        if spec.get("json_query"):
            compile_query(name, spec["json_query"])
        return Check(
            url=http_url(spec),
            status=tuple(int(s) for s in (status if isinstance(status, list) else [status])),
            body=spec.get("body"),
            json_query=spec.get("json_query") or None,
            validate_certs=spec.get("validate_certs", True) is not False,
            source=spec.get("from") or "controller",
            **common,
        )
    if kind == "systemd":
        return Check(**common)
    raise ValueError("%s: unknown check type %r (one of %s)" % (name, kind, ", ".join(CHECK_TYPES)))


def cmd_command(check: Check) -> Command:
    return argv("timeout", max(1, int(check.timeout)), *check.argv)


def http_target_command(check: Check) -> Command:
    """curl on the target; prints the body, then a marker line with the status code."""
    words = ["curl", "-sS", "-m", str(max(1, int(check.timeout))), "-o", "-", "-w", STATUS_MARK + "%{http_code}\\n"]
    if not check.validate_certs:
        words.append("-k")
    return raw(
        "command -v curl >/dev/null || { echo 'curl is not installed on the target' >&2; exit 127; }; @{curl}",
        curl=argv(*words, check.url or ""),
    )


def split_http_output(output: str) -> Tuple[Optional[int], str]:
    body, sep, tail = output.rpartition(STATUS_MARK)
    if not sep:
        return None, output
    code = tail.strip()
    return (int(code) if code.isdigit() else None), body


def judge_http(check: Check, status: Optional[int], body: str) -> Optional[str]:
    """None when the answer is healthy, else why not."""
    if status is None or status == 0:
        return "no HTTP answer from %s" % check.url
    if not check.accepts_status(status):
        wanted = ", ".join(str(s) for s in check.status) if check.status else "2xx"
        return "%s answered %d, expected %s" % (check.url, status, wanted)
    if check.body and not re.search(check.body, body):
        return "%s answered %d but the body does not match %r" % (check.url, status, check.body)
    if check.json_query:
        return judge_json(check, body)
    return None


def compile_query(name: str, expression: str):
    """The JMESPath expression, parsed (a syntax error names the check and says where)."""
    if jmespath is None:
        raise ValueError(
            "%s: json_query needs the Python package jmespath on the controller (pip install jmespath)" % name
        )
    try:
        return jmespath.compile(expression)
    except jmespath.exceptions.ParseError as exc:
        raise ValueError("%s: json_query %r is not a JMESPath expression: %s" % (name, expression, exc))


def judge_json(check: Check, body: str) -> Optional[str]:
    """None when the JSON body makes ``json_query`` true (JMESPath's truth: not false, null or empty)."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        return "%s did not answer JSON (%s): %r" % (check.url, exc, body[:200])
    try:
        found = compile_query(check.name, check.json_query or "").search(document)
    except jmespath.exceptions.JMESPathError as exc:
        return "%s: json_query %r failed on the body: %s" % (check.url, check.json_query, exc)
    if found in (False, None, "", [], {}):
        return "%s: json_query %r is %s for the body %s" % (
            check.url,
            check.json_query,
            json.dumps(found),
            json.dumps(document, sort_keys=True)[:300],
        )
    return None


SYSTEMD_COMMAND = raw(
    "if [ ! -d /run/systemd/system ]; then echo no-systemd; exit 0; fi; "
    "systemctl is-system-running 2>/dev/null; echo '--'; systemctl --failed --no-legend --plain "
    "2>/dev/null | awk '{print $1}'; true"
)


def systemd_state() -> Operation[Tuple[Optional[str], bool]]:
    """Why systemd says the host is unhealthy (or None), and whether to ask again."""
    return Operation(
        "systemd state", SYSTEMD_COMMAND, lambda a: judge_systemd(a.stdout), privileged=False, what="asking systemd"
    )


def judge_systemd(output: str) -> Tuple[Optional[str], bool]:
    """(why it is unhealthy or None, whether to retry). No systemd on the host counts as healthy."""
    state, _sep, failed = output.partition("--")
    state = state.strip()
    if state == "no-systemd":
        return None, False
    units = [u for u in failed.split() if u]
    if state == "running" and not units:
        return None, False
    if state in ("starting", "initializing"):
        return "the system is still %s" % state, True
    detail = "; failed units: %s" % ", ".join(units) if units else ""
    return "systemctl is-system-running says %s%s" % (state or "nothing", detail), True


def summarize(results: List[Dict[str, Any]]) -> str:
    bad = [r for r in results if not r["ok"]]
    if not bad:
        return "%d health checks passed" % len(results)
    return "; ".join("%s failed after %d attempts: %s" % (r["name"], r["attempts"], r["message"]) for r in bad)
