"""plugin_utils/_remote/remote_shell.py, the base of every carrier, with the real sh here (LocalShell): a
failed command's error, a sensitive one's stdout never in it, operations with and without ``what``."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_operation import Operation
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import argv, raw

from local_shell import LocalShell


def test_run_never_raises_and_passes_stdin_and_privilege():
    shell = LocalShell()
    result = shell.run(argv("cat"), stdin="data\n", privileged=False)
    assert (result.rc, result.stdout) == (0, "data\n")
    assert shell.run(raw("exit 7")).rc == 7
    assert [privileged for _command, privileged in shell.carried] == [False, True]


def test_check_names_what_failed_with_the_output():
    with pytest.raises(NixError) as caught:
        LocalShell().check(raw("echo partial; echo 'no space left' >&2; exit 3"), "writing /etc/x")
    error = caught.value
    assert str(error) == "here: writing /etc/x failed (exit code 3): no space left"
    assert (error.rc, error.stderr, error.stdout) == (3, "no space left\n", "partial\n")


def test_a_sensitive_failure_keeps_stdout_out_of_the_error():
    with pytest.raises(NixError) as caught:
        LocalShell().check(
            raw("cat; echo 'denied' >&2; exit 1"), "reading the key", stdin="AGE-SECRET-KEY-1ABC\n", sensitive=True
        )
    assert caught.value.stdout == "" and caught.value.stderr == "denied\n"
    assert "AGE-SECRET-KEY" not in repr(caught.value.to_result())


def test_operations_with_what_fail_and_without_it_parse_every_answer():
    shell = LocalShell()
    strict = Operation("probe", raw("exit 2"), lambda a: a.rc, privileged=False, what="probing")
    with pytest.raises(NixError, match="here: probing failed"):
        shell.perform(strict)
    lenient = Operation("present", raw("exit 3"), lambda a: a.rc, privileged=False)
    assert shell.perform(lenient) == 3
    assert [privileged for _command, privileged in shell.carried] == [False, False]


def test_only_commands_built_by_the_shell_module_run():
    with pytest.raises(TypeError, match="a remote command is a remote_command.Command"):
        LocalShell().run("rm -rf /")  # (the wrong type is the test)
