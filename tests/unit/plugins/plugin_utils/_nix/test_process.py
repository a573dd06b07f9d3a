import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_argv import NixSettings
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.process import check, run


def test_run_and_check_real_processes():
    ok = run(["sh", "-c", "echo out; echo err >&2"])
    assert (ok.rc, ok.stdout, ok.stderr) == (0, "out\n", "err\n")
    bad = run(["sh", "-c", "echo 'error: it broke' >&2; exit 3"])
    with pytest.raises(NixError) as info:
        check(bad, "the thing", host="web-01")
    assert info.value.rc == 3 and info.value.host == "web-01"
    assert str(info.value) == "web-01: the thing failed (exit code 3): error: it broke"


def test_each_command_is_measured_by_wait4():
    """Peak memory and CPU of the command itself (what evaluation chunks are sized by)."""
    allocate = "import time; b = bytearray(%d); b[::4096] = b'x' * len(b[::4096]); s = sum(range(3000000))"
    big = run(["python3", "-c", allocate % (200 * 2**20)])
    small = run(["python3", "-c", allocate % (2**20)])
    assert big.rc == small.rc == 0
    assert big.max_rss > 200 * 2**20 > small.max_rss > 0
    assert big.cpu > 0 and small.cpu > 0


def test_stdin_reaches_the_command():
    assert run(["cat"], stdin="fed\n").stdout == "fed\n"


def test_missing_nix_says_how_to_install():
    cli = NixCli(NixSettings(nix="/nonexistent/nix"))
    with pytest.raises(NixError, match="apt-get install nix-bin"):
        cli.version()


def test_timeout_is_a_nix_error():
    with pytest.raises(NixError, match="timed out"):
        run(["sleep", "5"], timeout=0.2)


def fake_nix(directory, version):
    """A ``nix`` that says it is ``version``, logs each call and prints an empty path-info map."""
    nix = directory / "nix"
    nix.write_text(
        '#!/bin/sh\necho "$*" >> %s/calls\n'
        "if [ \"$1\" = --version ]; then echo 'nix (Nix) %s'; else echo '{}'; fi\n" % (directory, version)
    )
    nix.chmod(0o755)
    return str(nix)


def calls(directory):
    return (directory / "calls").read_text().splitlines()


def test_the_nix_version_is_asked_once_per_installed_nix(tmp_path, monkeypatch):
    monkeypatch.delenv("NIXFLEET_CACHE_DIR", raising=False)  # it would win over XDG_CACHE_HOME
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    nix = fake_nix(tmp_path, "2.34.8")
    for play in ("first", "second", "third"):  # three controller processes with the same Nix
        assert NixCli(NixSettings(nix=nix)).path_info(["/nix/store/%s" % play]) == {}
    assert [c for c in calls(tmp_path) if c == "--version"] == ["--version"]
    # Nix 2.33+ gets --json-format 1 (no deprecation warning); every call got it.
    assert all("--json --json-format 1" in c for c in calls(tmp_path) if c != "--version")
    fake_nix(tmp_path, "2.26.3")  # an upgrade (or downgrade) of Nix: asked again, no flag
    NixCli(NixSettings(nix=nix)).path_info(["/nix/store/x"])
    assert calls(tmp_path)[-2:] == ["--version", calls(tmp_path)[-1]] and "--json-format" not in calls(tmp_path)[-1]


def test_an_unwritable_cache_only_costs_a_call(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.delenv("NIXFLEET_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))  # not a directory
    nix = fake_nix(tmp_path, "2.8.0")
    assert NixCli(NixSettings(nix=nix)).version().version == (2, 8, 0)
    assert NixCli(NixSettings(nix=nix)).version().version == (2, 8, 0)
    assert calls(tmp_path) == ["--version", "--version"]
