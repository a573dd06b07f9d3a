"""``RemoteShell.perform``: an operation's command goes to the carrier as a ``Command``, its parser
reads the answer, and an operation with ``what`` fails on a non-zero exit as ``NixError`` (without
stdout when the operation is sensitive)."""
import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils import nix_daemon as nd
from ansible_collections.nixfleet.nixos.plugins.module_utils.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils.remote_operation import Operation
from ansible_collections.nixfleet.nixos.plugins.module_utils.shell import argv

from local_shell import LocalShell


def test_the_parser_reads_the_answer_and_the_carrier_gets_the_command():
    shell = LocalShell()
    command = argv("printf", "%s\\n", "a b", "$HOME")
    assert shell.perform(Operation("words", command, lambda a: a.stdout.splitlines(), privileged=False)) == \
        ["a b", "$HOME"]
    assert shell.carried == [(command, False)]


def test_an_operation_with_what_fails_clearly_and_a_sensitive_one_keeps_its_stdout_out_of_the_error():
    shell = LocalShell()
    failing = argv("sh", "-c", "cat; echo broken >&2; exit 3")  # prints its input: the secret
    with pytest.raises(NixError) as caught:
        shell.perform(Operation("key", failing, lambda a: a.stdout, sensitive=True, stdin="secret-output",
                                what="reading the key"))
    assert (caught.value.rc, caught.value.host) == (3, "here")
    assert str(caught.value) == "here: reading the key failed (exit code 3): broken"
    assert "secret-output" not in repr(caught.value.to_result())
    # Without ``what`` the parser sees every answer, exit code included.
    assert shell.perform(Operation("rc", failing, lambda a: a.rc)) == 3


def test_a_real_operation_end_to_end():
    # The nix-daemon probe, as nix_conf performs it: run for real on this machine.
    status = LocalShell().perform(nd.daemon_status())
    assert status.kind in ("systemd", "process", "none")
