"""What the controller's Nix CLI (plugins/plugin_utils/_nix/nix_cli.py) makes of Nix's messages, the
same on Nix 2.8 and 2.34 (whose shapes differ)."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_argv import NixSettings
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.process import CommandResult
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import (
    NixError,
    NixTooOld,
)
from recorded_outputs import RECORDED_OUTPUTS as NIX_OUTPUTS


class Answering:
    """A runner answering ``nix --version`` with ``version`` and every other Nix call with ``answer``."""

    def __init__(self, version="nix (Nix) 2.8.0\n", answer=(0, "", "")):
        self.version, self.answer = version, answer
        self.calls = []

    def __call__(self, argv, **_kwargs):
        self.calls.append(list(argv))
        if argv[-1] == "--version":
            return CommandResult(list(argv), 0, self.version, "")
        return CommandResult(list(argv), *self.answer)


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NIXFLEET_CACHE_DIR", str(tmp_path / "cache"))


def test_a_failed_evaluation_under_a_nix_the_nixpkgs_refuses_becomes_nix_too_old():
    stderr = (NIX_OUTPUTS / "2.8.0" / "nixpkgs-needs-newer-nix.stderr").read_text()
    runner = Answering(answer=(1, "", stderr))
    with pytest.raises(NixTooOld) as caught:
        NixCli(NixSettings(), runner=runner).eval_json("path:/srv/infra#x")
    assert caught.value.message.startswith("the flake's nixpkgs needs a newer Nix than the controller's (Nix 2.8.0)")
    assert [argv[-1] for argv in runner.calls] == ["path:/srv/infra#x", "--version"]  # the version asked on failure


def test_an_ordinary_failure_stays_nixs_own_error():
    runner = Answering(answer=(1, "", "error: attribute 'x' missing\n"))
    with pytest.raises(NixError) as caught:
        NixCli(NixSettings(), runner=runner).eval_json("path:/srv/infra#x")
    assert not isinstance(caught.value, NixTooOld) and caught.value.rc == 1
    assert "attribute 'x' missing" in caught.value.stderr


def test_the_version_is_asked_once_and_remembered_for_the_next_process(tmp_path):
    nix = tmp_path / "nix"  # an executable of its own: the cache is keyed by the executable
    nix.write_text("#!/bin/sh\n")
    nix.chmod(0o755)
    runner = Answering()
    cli = NixCli(NixSettings(nix=str(nix)), runner=runner)
    assert str(cli.version()) == str(cli.version())
    assert runner.calls == [[str(nix), "--version"]]
    later = Answering(version="nix (Nix) 9.9.9\n")
    assert "2.8.0" in str(NixCli(NixSettings(nix=str(nix)), runner=later).version())  # from the cache
    assert later.calls == []


def test_a_nix_without_flakes_is_refused_clearly():
    with pytest.raises(NixError, match="is too old: flakes need Nix 2.4 or newer"):
        NixCli(NixSettings(), runner=Answering(version="nix (Nix) 2.3.16\n")).version()
