"""Health checks (module_utils._lifecycle.health): parsing them and judging their answers."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import health


def test_parse_checks_and_urls():
    c = health.parse_check({"type": "http", "host": "10.0.0.1", "port": 8080, "path": "health", "scheme": "http"}, 0)
    assert c.url == "http://10.0.0.1:8080/health" and c.name == "http check 1" and c.accepts_status(204)
    assert not c.accepts_status(301)
    c = health.parse_check({"type": "http", "url": "https://x/", "status": [301], "validate_certs": False}, 1)
    assert c.accepts_status(301) and not c.accepts_status(200) and not c.validate_certs
    with pytest.raises(ValueError, match="needs argv"):
        health.parse_check({"type": "cmd", "name": "db"}, 0)
    with pytest.raises(ValueError, match="unknown check type"):
        health.parse_check({"type": "ping"}, 0)
    with pytest.raises(ValueError, match="needs url"):
        health.parse_check({"type": "http"}, 0)


def test_json_query_checks():
    c = health.parse_check(
        {
            "type": "http",
            "name": "app",
            "url": "http://h/health.json",
            "json_query": "status == 'ok' && length(errors) == `0`",
        },
        0,
    )
    assert health.judge_http(c, 200, '{"status": "ok", "errors": []}') is None
    assert health.judge_http(c, 200, '{"status": "ok", "errors": ["disk full"]}') == (
        "http://h/health.json: json_query \"status == 'ok' && length(errors) == `0`\" is false for the body "
        '{"errors": ["disk full"], "status": "ok"}'
    )
    assert str(health.judge_http(c, 200, "<html>oops</html>")).startswith("http://h/health.json did not answer JSON (")
    # JMESPath's truth: a missing field is null, an empty list is false, a non-empty value is true.
    version = health.parse_check({"type": "http", "url": "http://h/", "json_query": "version"}, 0)
    assert "is null for the body" in str(health.judge_http(version, 200, "{}"))
    assert health.judge_http(version, 200, '{"version": "1.2"}') is None
    assert "is [] for the body" in str(
        health.judge_http(
            health.parse_check({"type": "http", "url": "http://h/", "json_query": "errors"}, 0), 200, '{"errors": []}'
        )
    )
    with pytest.raises(ValueError, match="app: json_query 'status ==' is not a JMESPath expression"):
        health.parse_check({"type": "http", "name": "app", "url": "http://h/", "json_query": "status =="}, 0)


def test_judge_http():
    c = health.parse_check({"type": "http", "url": "http://h/", "body": "node01 [0-9]+"}, 0)
    assert health.judge_http(c, 200, "node01 2\n") is None
    assert "does not match" in str(health.judge_http(c, 200, "node02 2"))
    assert "answered 503, expected 2xx" in str(health.judge_http(c, 503, ""))
    assert "no HTTP answer" in str(health.judge_http(c, None, ""))
    assert health.split_http_output("body\nline" + health.STATUS_MARK + "404\n") == (404, "body\nline")


def test_judge_systemd():
    assert health.judge_systemd("no-systemd\n") == (None, False)
    assert health.judge_systemd("running\n--\n") == (None, False)
    assert health.judge_systemd("starting\n--\n") == ("the system is still starting", True)
    why, retry = health.judge_systemd("degraded\n--\nfoo.service\nbar.service\n")
    assert why == "systemctl is-system-running says degraded; failed units: foo.service, bar.service" and retry
