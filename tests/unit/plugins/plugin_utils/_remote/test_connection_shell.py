"""plugin_utils/_remote/connection_shell.py without a live ssh connection: commands through Ansible's real
``local`` connection plugin and ``ActionBase._low_level_execute_command``; become's terminal output,
no_log for sensitive commands, the fresh-connection options and disconnects through a connection
that records what it was asked."""

from io import StringIO
from types import SimpleNamespace

import pytest
from ansible.errors import AnsibleConnectionFailure
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import connection_loader

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import argv, raw
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote import connection_shell as cs
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.ssh_target import NO_MASTER


class _Action(ActionBase):
    def run(self, tmp=None, task_vars=None):
        return {}


def action(connection, play_context):
    task = SimpleNamespace(
        args={}, check_mode=False, diff=False, async_val=0, action="unit", environment=[], become=False
    )
    return _Action(task, connection, play_context, DataLoader(), None, None)


@pytest.fixture
def local():
    context = PlayContext()
    return cs.ConnectionShell(action(connection_loader.get("local", context, StringIO()), context), "here")


def test_a_command_through_the_real_local_connection(local):
    result = local.run(raw("echo out; echo err >&2; exit 3"), privileged=False)
    assert (result.rc, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert result.argv == ["echo out; echo err >&2; exit 3"]


def test_standard_input_reaches_the_command(local):
    # Ansible's connections take bytes; the local one refuses a str.
    result = local.run(argv("cat"), stdin="hello\n", privileged=False)
    assert (result.rc, result.stdout) == (0, "hello\n")


def test_privileged_without_become_keeps_stdout_and_stderr_apart(local):
    result = local.run(raw("printf 'a\\r\\nb\\n'; echo e >&2"), privileged=True)
    assert result.stdout == "a\r\nb\n" and result.stderr == "e\n"  # no terminal: nothing to undo


class Recording:
    """A connection: records each command with the no_log its play context had; answers ``answer``
    (or raises it); ssh-like options."""

    transport = "ssh"

    def __init__(self, context, answer=(0, "", ""), become_pass=None):
        self._play_context = context
        self.answer = answer
        self.seen = []
        self.options = {
            "ssh_args": "-o ControlMaster=auto",
            "timeout": 30,
            "ssh_common_args": "-o Foo=bar",
            "ssh_extra_args": "",
        }
        self.become = SimpleNamespace(get_option=lambda name: become_pass) if become_pass is not None else None

    def get_option(self, name):
        return self.options[name]

    def set_option(self, name, value):
        self.options[name] = value


class RecordingAction(_Action):
    def _low_level_execute_command(self, cmd, sudoable=True, in_data=None, **_kwargs):
        conn = self._connection
        conn.seen.append(
            {
                "cmd": cmd,
                "sudoable": sudoable,
                "stdin": in_data,
                "no_log": conn._play_context.no_log,
                "action_no_log": self._play_context.no_log,
                "ssh_args": conn.options["ssh_args"],
                "timeout": conn.options["timeout"],
            }
        )
        if isinstance(conn.answer, Exception):
            raise conn.answer
        rc, out, err = conn.answer
        return {"rc": rc, "stdout": out, "stderr": err}


def recording(become=False, fresh=False, **kwargs):
    context = PlayContext()
    context.become = become
    conn = Recording(PlayContext(), **kwargs)  # the connection holds a copy of its own
    task = SimpleNamespace(args={}, check_mode=False, diff=False, async_val=0, action="unit", environment=[])
    return cs.ConnectionShell(RecordingAction(task, conn, context, DataLoader(), None, None), "web", fresh=fresh), conn


def test_privileged_goes_through_become_only_when_the_play_becomes():
    shell, conn = recording(become=True)
    shell.run(argv("id"), privileged=True)
    shell.run(argv("id"), privileged=False)
    assert [s["sudoable"] for s in conn.seen] == [True, False]
    shell, conn = recording(become=False)
    shell.run(argv("id"), privileged=True)
    assert conn.seen[0]["sudoable"] is False


def test_become_terminal_output_is_made_plain_again():
    shell, _conn = recording(become=True, answer=(0, "a\r\nb\r\n", ""))
    assert shell.run(argv("x")).stdout == "a\nb\n"
    prompted, _conn = recording(become=True, answer=(0, "\nfirst\r\n", ""), become_pass="pw")
    assert prompted.run(argv("x")).stdout == "first\n"  # the echoed newline after the password is gone
    unprompted, _conn = recording(become=True, answer=(0, "\nfirst\r\n", ""))
    assert unprompted.run(argv("x")).stdout == "\nfirst\n"


def test_sensitive_commands_run_with_no_log_on_both_contexts_then_restored():
    shell, conn = recording()
    shell.run(argv("cat"), stdin="secret", sensitive=True)
    shell.run(argv("true"))
    assert [(s["no_log"], s["action_no_log"]) for s in conn.seen] == [(True, True), (False, False)]
    assert conn._play_context.no_log is False and shell._action._play_context.no_log is False
    assert conn.seen[0]["stdin"] == b"secret"  # connections take bytes


def test_a_lost_connection_raises_unless_tolerated_or_fresh():
    shell, _conn = recording(answer=AnsibleConnectionFailure("Connection reset"))
    with pytest.raises(AnsibleConnectionFailure):
        shell.run(argv("true"))
    with shell.disconnect_tolerated():
        lost = shell.run(argv("true"))
    assert (lost.rc, lost.stderr) == (255, "Connection reset")
    with pytest.raises(AnsibleConnectionFailure):
        shell.run(argv("true"))  # tolerated only inside
    fresh, _conn = recording(fresh=True, answer=AnsibleConnectionFailure("timed out"))
    assert fresh.run(argv("true")).rc == 255


def test_a_fresh_connection_forbids_the_master_for_that_command_only():
    shell, conn = recording(fresh=True)
    shell.run(argv("true"))
    seen = conn.seen[0]
    assert seen["ssh_args"].startswith(argv(*NO_MASTER).text)
    assert seen["ssh_args"].endswith("-o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o ControlMaster=auto")
    assert seen["timeout"] == 5
    assert conn.options["ssh_args"] == "-o ControlMaster=auto" and conn.options["timeout"] == 30  # restored


def test_only_the_ssh_plugins_have_fresh_connections():
    for transport, fresh in (("ssh", True), ("ansible.builtin.ssh", True), ("local", False), ("paramiko", False)):
        act = SimpleNamespace(_connection=SimpleNamespace(transport=transport))
        assert cs.has_fresh_connections(act) is fresh
