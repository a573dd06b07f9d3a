from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import (
    NixError,
    NixTooOld,
    missing_nix_features,
    nix_error_text,
    nix_too_old,
)
from recorded_outputs import RECORDED_OUTPUTS as NIX_OUTPUTS


STDERR = """copying 4 paths...
copying path '/nix/store/cji8rrw6brf84in4r3rlkrs97z0i87vg-nixfleet-base-1' to 'ssh-ng://root@127.0.0.11'...
error: cannot add path '/nix/store/cji8rrw6brf84in4r3rlkrs97z0i87vg-nixfleet-base-1' because it lacks a valid signature
(use '--show-trace' to show detailed location information)
"""


def test_error_text_starts_at_first_error_line():
    text = nix_error_text(STDERR)
    assert text.startswith("error: cannot add path")
    assert "copying" not in text.splitlines()[0]
    assert text.endswith("(use '--show-trace' to show detailed location information)")


def test_error_text_without_error_line_keeps_last_lines():
    lines = "\n".join("line %d" % i for i in range(10))
    assert nix_error_text(lines) == "\n".join("line %d" % i for i in range(5, 10))
    assert nix_error_text("") == ""


def test_str_names_host_command_code_and_nix_error():
    err = NixError("nix copy to ssh-ng://root@web failed", command=["nix", "copy"], rc=1, stderr=STDERR, host="web-01")
    text = str(err)
    assert text.startswith("web-01: nix copy to ssh-ng://root@web failed (exit code 1): error: cannot add path")
    result = err.to_result()
    assert result["rc"] == 1 and result["cmd"] == ["nix", "copy"] and result["stderr"] == STDERR
    assert result["msg"] == text


def test_str_without_details():
    assert str(NixError("boom")) == "boom"


def test_error_line_on_stdout_is_used_when_stderr_has_none():
    err = NixError(
        "activation failed",
        rc=1,
        stdout="starting\nerror: unit foo failed\n",
        stderr="Shared connection to 127.0.0.1 closed.\n",
    )
    assert str(err) == "activation failed (exit code 1): error: unit foo failed"


def test_ssh_noise_is_dropped():
    assert nix_error_text("something broke\nConnection to web closed.\n") == "something broke"


def test_over_a_terminal_the_message_comes_from_stdout():
    # Ansible's become allocates a tty: a shell command's stderr arrives in its stdout, and stderr
    # holds only ssh's own words.
    err = NixError(
        "restarting nix-daemon failed",
        rc=1,
        stdout="the old nix-daemon (pid 20) did not stop\r\n",
        stderr="Shared connection to 127.0.90.11 closed.\r\n",
    )
    assert str(err) == "restarting nix-daemon failed (exit code 1): the old nix-daemon (pid 20) did not stop"
    # A real stderr still wins over stdout's progress lines.
    assert (
        str(NixError("x failed", stdout="copying 3 paths\n", stderr="permission denied\n"))
        == "x failed: permission denied"
    )


def test_rolled_back_and_unreachable_are_result_fields_only_when_true():
    from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.watchdog_confirmation import (
        ActivationFailed,
    )

    assert "rolled_back" not in NixError("x").to_result() and "unreachable" not in NixError("x").to_result()
    assert NixError("x", unreachable=True).to_result()["unreachable"] is True
    failed = ActivationFailed("activation failed", rc=1, host="web-01")
    assert failed.rolled_back and failed.to_result()["rolled_back"] is True and failed.host == "web-01"


def test_a_nixpkgs_that_refuses_the_controllers_nix_is_one_clear_error():
    """The real abort of the nixpkgs in shared/nixpkgs under Debian 12's Nix 2.8 (recorded)."""
    stderr = (NIX_OUTPUTS / "2.8.0" / "nixpkgs-needs-newer-nix.stderr").read_text()
    assert missing_nix_features(stderr) == ["`builtins.nixVersion` reports at least 2.18"]
    error = nix_too_old(NixError("nix eval of path:/srv/infra failed", rc=1, stderr=stderr), "Nix 2.8.0")
    assert isinstance(error, NixTooOld)
    assert error.message == (
        "the flake's nixpkgs needs a newer Nix than the controller's (Nix 2.8.0): it requires "
        "`builtins.nixVersion` reports at least 2.18. Install Nix 2.18 or newer on the "
        "controller (Debian 13 has nix-bin 2.26) or point nix_binary at one"
    )
    assert nix_too_old(NixError("x", stderr="error: attribute 'fileSystems' missing\n"), "Nix 2.8.0") is None
    assert missing_nix_features("") == []
