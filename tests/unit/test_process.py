import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils.nix_cli import NixCli
from ansible_collections.nixfleet.nixos.plugins.module_utils.nix_command import NixSettings
from ansible_collections.nixfleet.nixos.plugins.plugin_utils.process import check, run


def test_run_and_check_real_processes():
    ok = run(["sh", "-c", "echo out; echo err >&2"])
    assert (ok.rc, ok.stdout, ok.stderr) == (0, "out\n", "err\n")
    bad = run(["sh", "-c", "echo 'error: it broke' >&2; exit 3"])
    with pytest.raises(NixError) as info:
        check(bad, "the thing", host="web-01")
    assert info.value.rc == 3 and info.value.host == "web-01"
    assert str(info.value) == "web-01: the thing failed (exit code 3): error: it broke"


def test_missing_nix_says_how_to_install():
    cli = NixCli(NixSettings(nix="/nonexistent/nix"))
    with pytest.raises(NixError, match="apt-get install nix-bin"):
        cli.version()


def test_timeout_is_a_nix_error():
    with pytest.raises(NixError, match="timed out"):
        run(["sleep", "5"], timeout=0.2)
