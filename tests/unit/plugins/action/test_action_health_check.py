"""plugins/action/health_check.py: cmd, systemd and http checks, retries, check mode, bad checks.
HTTP checks from the controller ask a real HTTP server on this machine's loopback."""

import http.server
import importlib
import threading

import pytest

from action_harness import ACTIONS, ActionShell, run_action, said


@pytest.fixture
def no_wait(monkeypatch):
    module = importlib.import_module(ACTIONS % "health_check")
    monkeypatch.setattr(module.time, "sleep", lambda seconds: None)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code, body = {"/ok": (200, b'{"ready": true}'), "/down": (503, b"down")}.get(self.path, (404, b"no"))
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_cmd_check_retries_then_passes(no_wait):
    shell = ActionShell(commands={"timeout": [said(rc=1, stderr="not yet\n"), said(rc=0)]})
    result = run_action("health_check", {"checks": [{"type": "cmd", "argv": ["true"], "retries": 3}]}, shell)
    assert not result.get("failed"), result
    assert result["checks"] == [{"name": "cmd check 1", "type": "cmd", "ok": True, "attempts": 2, "message": "ok"}]
    assert shell.performed == [("timeout", True), ("timeout", True)]  # cmd checks run privileged
    assert shell.texts[0] == "timeout 5 true"
    assert result["msg"] == "1 health checks passed" and result["changed"] is False


def test_failing_cmd_fails_naming_the_host_and_the_last_line(no_wait):
    shell = ActionShell(commands={"timeout": said(rc=3, stderr="first\nport 80 closed\n")})
    result = run_action(
        "health_check", {"checks": [{"name": "web up", "type": "cmd", "argv": ["check-web"], "retries": 1}]}, shell
    )
    assert result["failed"] is True
    assert result["msg"] == "web: web up failed after 2 attempts: check-web exited 3 port 80 closed"
    assert len(shell.performed) == 2


def test_systemd_degraded_is_retried_then_reported(no_wait):
    shell = ActionShell({"systemd state": said(stdout="degraded\n--\nfoo.service\n")})
    result = run_action("health_check", {"checks": [{"type": "systemd", "retries": 2}]}, shell)
    assert result["failed"] is True
    assert result["checks"][0]["attempts"] == 3
    assert result["checks"][0]["message"] == "systemctl is-system-running says degraded; failed units: foo.service"
    assert shell.performed == [("systemd state", False)] * 3


def test_systemd_running_passes_first_time():
    shell = ActionShell({"systemd state": said(stdout="running\n--\n")})
    result = run_action("health_check", {"checks": [{"type": "systemd"}]}, shell)
    assert not result.get("failed") and result["checks"][0]["attempts"] == 1


def test_http_from_the_controller_with_json_query(server):
    shell = ActionShell()
    result = run_action(
        "health_check",
        {"checks": [{"name": "api", "type": "http", "url": server + "/ok", "json_query": "ready", "retries": 0}]},
        shell,
    )
    assert not result.get("failed"), result
    assert result["checks"][0]["ok"] is True
    assert shell.performed == []  # the controller asked, not the target


def test_http_wrong_status_fails_without_retrying_forever(server, no_wait):
    result = run_action(
        "health_check",
        {"checks": [{"name": "api", "type": "http", "url": server + "/down", "retries": 1}]},
        ActionShell(),
    )
    assert result["failed"] is True
    assert result["checks"][0]["message"] == "%s/down answered 503, expected 2xx" % server
    assert result["checks"][0]["attempts"] == 2


def test_http_status_list_accepts_503(server):
    result = run_action(
        "health_check",
        {"checks": [{"type": "http", "url": server + "/down", "status": [503], "body": "^down$", "retries": 0}]},
        ActionShell(),
    )
    assert not result.get("failed"), result


def test_http_from_the_target_without_curl_is_not_retried():
    shell = ActionShell(commands={"curl": said(rc=127, stderr="curl is not installed on the target\n")})
    result = run_action(
        "health_check",
        {"checks": [{"type": "http", "host": "localhost", "port": 8080, "path": "health", "from": "target"}]},
        shell,
    )
    assert result["failed"] is True
    assert result["checks"][0]["message"] == "curl is not installed on the target"
    assert shell.performed == [("curl", False)]
    assert "http://localhost:8080/health" in shell.texts[0]


def test_http_from_the_target_reads_the_status_mark():
    shell = ActionShell(commands={"curl": said(stdout="hello\nnixfleet-http-status:200\n")})
    result = run_action(
        "health_check",
        {"checks": [{"type": "http", "url": "http://localhost/", "from": "target", "body": "hello"}]},
        shell,
    )
    assert not result.get("failed"), result


def test_check_mode_runs_nothing():
    shell = ActionShell()
    result = run_action("health_check", {"checks": [{"type": "cmd", "argv": ["false"]}]}, shell, check_mode=True)
    assert result == dict(result, changed=False, checks=[], msg="health checks are not run in check mode")
    assert shell.performed == []


@pytest.mark.parametrize(
    "check, message",
    [
        ({"type": "cmd"}, "invalid health check: cmd check 1: a cmd check needs argv"),
        ({"type": "http"}, "invalid health check: an http check needs url, or host (with port, path, scheme)"),
        (
            {"type": "http", "url": "http://x/", "json_query": "a[", "name": "q"},
            "invalid health check: q: json_query 'a[' is not a JMESPath expression",
        ),
    ],
)
def test_a_bad_check_fails_before_anything_runs(check, message):
    shell = ActionShell()
    result = run_action("health_check", {"checks": [check]}, shell)
    assert result["failed"] is True and result["msg"].startswith(message)
    assert shell.performed == []
