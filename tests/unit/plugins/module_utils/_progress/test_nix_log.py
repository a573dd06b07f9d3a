"""Nix's --log-format internal-json log read into progress (module_utils._progress.nix_log), on the real logs of
every Nix version the collection supports (tests/unit/nix_outputs/*/internal-json-*.stderr, made by
record-internal-json.sh there: two derivations, top depends on dep, each prints two lines; a
--keep-going build where progress-bad fails after printing "about to fail" and "line two"; a
nix copy of top's closure to a file:// cache)."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._progress import nix_log
from recorded_outputs import RECORDED_OUTPUTS as OUTPUTS

VERSIONS = ["2.8.0", "2.26.3", "2.34.8"]


def _lines(version, name):
    return (OUTPUTS / version / ("internal-json-%s.stderr" % name)).read_text().splitlines()


def _feed(version, name):
    log, seen, failed = nix_log.NixLog(), [], []
    for line in _lines(version, name):
        failed += [(b.drv.rsplit("-", 1)[-1], list(b.tail), log.builds.failed) for b in log.feed(line)]
        seen.append((log.builds.done, log.builds_total, log.builds.running, log.current))
    return log, seen, failed


@pytest.mark.parametrize("version", VERSIONS)
def test_a_build_counts_derivations_done_of_expected_and_the_current_one(version):
    log, seen, failed = _feed(version, "build")
    assert (log.builds.done, log.builds_total, log.builds.running, log.builds.failed) == (2, 2, 0, 0)
    assert failed == [] and log.current is None
    done = [s[0] for s in seen]
    assert done == sorted(done) and done[-1] == 2  # the count only rises
    # while dep builds, it is the current derivation and one build runs; then top
    currents = [s[3].rsplit("-", 1)[-1] for s in seen if s[3]]
    assert currents[0] == "dep.drv" and currents[-1] == "top.drv"
    assert (0, 2, 1) in [s[:3] for s in seen] and (1, 2, 1) in [s[:3] for s in seen]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_failed_build_is_named_with_its_last_log_lines_when_it_fails(version):
    lines = _lines(version, "build-failed")
    log = nix_log.NixLog()
    failures = []
    for index, line in enumerate(lines):
        failures += [(index, b) for b in log.feed(line)]
    assert [b.drv.rsplit("-", 1)[-1] for _index, b in failures] == ["bad.drv"]
    index, bad = failures[0]
    assert list(bad.tail) == ["about to fail", "line two"]
    # as it happens: before dep and top were built (Nix's error message comes only at the end)
    assert "preparing dep" not in "\n".join(lines[: index + 1]) and index < len(lines) - 10
    assert (log.builds.done, log.builds.failed, log.builds_total) == (2, 1, 3)
    # Nix's error, as Nix prints it without JSON, gets the build's last log lines
    text = log.stderr
    assert "error:" in text and bad.drv in text
    # as Nix prints it without JSON: 2.8/2.26 "…failed with exit code 3;\n       last 2 log lines:",
    # 2.34 "Cannot build '…'.\n       Reason: …\n       Output paths: …\n       Last 2 log lines:"
    tail = "last 2 log lines:" if version != "2.34.8" else "Last 2 log lines:"
    assert text.index(tail) > text.index("error:")
    assert ("exit code 3;\n       last 2 log lines:" in text) == (version != "2.34.8")
    assert text.endswith("       > about to fail\n       > line two\n")
    assert "\x1b" not in text


@pytest.mark.parametrize("version", VERSIONS)
def test_a_copy_counts_paths_and_bytes(version):
    log, _seen, _failed = _feed(version, "copy")
    assert log.missing == 2 and log.paths_copied == 2
    assert [p.rsplit("-", 1)[-1] for p in log.finished] == ["dep", "top"] and log.in_flight == []
    if version == "2.8.0":  # Nix 2.8 sends no byte counts for a copy to a file:// cache
        assert (log.copied_bytes, log.bytes_expected) == (0, 0)
    else:  # the two NARs: 120 and 176 bytes (a 1-line file each)
        assert (log.copied_bytes, log.bytes_expected) == (296, 296)


def test_bytes_rise_while_a_path_is_sent():
    log = nix_log.NixLog()
    seen = []
    for line in _lines("2.34.8", "copy"):
        log.feed(line)
        seen.append(log.copied_bytes)
    assert seen == sorted(seen) and len(set(seen)) > 10


def test_lines_that_are_not_events():
    log = nix_log.NixLog()
    assert log.feed("ssh: connect to host 127.0.89.99 port 22: Connection refused") == []
    log.feed('@nix {"action":"result","fields":["x", 1],"id":7,"type":105}')  # progress of nothing known
    log.feed('@nix {"action":"start","id":"x","type":105}')  # an id that is no number
    log.feed("@nix {broken")
    assert log.text == ["ssh: connect to host 127.0.89.99 port 22: Connection refused", "@nix {broken"]
    assert (log.builds, log.current) == (nix_log.Counts(), None)


def test_parse_line():
    event = nix_log.parse_line('@nix {"action":"msg","level":0,"msg":"\\u001b[31;1merror:\\u001b[0m boom"}')
    assert event == nix_log.Event(action="msg", level=0, text="error: boom")
    assert nix_log.parse_line("building '/nix/store/x.drv'...") is None
