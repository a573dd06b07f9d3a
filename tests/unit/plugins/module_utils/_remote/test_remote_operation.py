"""``RemoteShell.perform``: an operation's command goes to the carrier as a ``Command``, its parser
reads the answer, and an operation with ``what`` fails on a non-zero exit as ``NixError`` (without
stdout when the operation is sensitive)."""

import shutil
import socket
import subprocess

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._caches import nix_daemon as nd
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_operation import Operation
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import argv

from local_shell import LocalShell


def test_the_parser_reads_the_answer_and_the_carrier_gets_the_command():
    shell = LocalShell()
    command = argv("printf", "%s\\n", "a b", "$HOME")
    assert shell.perform(Operation("words", command, lambda a: a.stdout.splitlines(), privileged=False)) == [
        "a b",
        "$HOME",
    ]
    assert shell.carried == [(command, False)]


def test_an_operation_with_what_fails_clearly_and_a_sensitive_one_keeps_its_stdout_out_of_the_error():
    shell = LocalShell()
    failing = argv("sh", "-c", "cat; echo broken >&2; exit 3")  # prints its input: the secret
    with pytest.raises(NixError) as caught:
        shell.perform(
            Operation("key", failing, lambda a: a.stdout, sensitive=True, stdin="secret-output", what="reading the key")
        )
    assert (caught.value.rc, caught.value.host) == (3, "here")
    assert str(caught.value) == "here: reading the key failed (exit code 3): broken"
    assert "secret-output" not in repr(caught.value.to_result())
    # Without ``what`` the parser sees every answer, exit code included.
    assert shell.perform(Operation("rc", failing, lambda a: a.rc)) == 3


def serving_daemon_kind() -> str:
    """What serves this machine's store, found without the probe: does the store's socket answer
    (in this mount namespace), and is systemd's nix-daemon unit active?"""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(nd.STORE_SOCKET)
        except OSError:
            return "none"
    active = (
        shutil.which("systemctl") is not None
        and subprocess.run(
            ["systemctl", "is-active", "--quiet", "nix-daemon.service"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ).returncode
        == 0
    )
    return "systemd" if active else "process"


def test_a_real_operation_end_to_end():
    # The nix-daemon probe, as nix_conf performs it: run for real on this machine.
    status = LocalShell().perform(nd.daemon_status())
    assert status.kind == serving_daemon_kind(), status
    assert (status.pid is None) == (status.kind == "none"), status
