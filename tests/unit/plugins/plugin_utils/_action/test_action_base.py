"""plugin_utils/_action/action_base.py: what every action plugin gets from NixosAction.run (argument
validation, NUL bytes and target paths refused before anything runs, NixError and ValueError as
failed results naming the host, the task's timing), verdicts, who deploys, and the ssh destination
read from the task's connection."""

import getpass
import socket

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import argv
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.connection_shell import ConnectionShell
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._action.action_base import (
    PROFILE_ARGSPEC,
    NixosAction,
    refuse_nul,
)

from action_harness import ActionShell, Connection, make_action, run_action, said


class Probe(NixosAction):
    """An action that reads one answer from the host (or fails as told)."""

    PATH_OPTIONS = ("path",)
    ARGSPEC = dict(
        PROFILE_ARGSPEC,
        path={"type": "str"},
        words={"type": "list", "elements": "str", "default": []},
        settings={"type": "dict", "default": {}},
        raise_={"type": "str"},
    )

    def execute(self, args, task_vars):
        if args["raise_"] == "nix":
            raise NixError("nix-env failed", rc=2, stderr="error: no such profile\n", command=["nix-env"])
        if args["raise_"] == "value":
            raise ValueError("keep must be 1 or more")
        out = self.shell(task_vars).check(argv("echo", "probe"), "reading", privileged=False).stdout
        return {"changed": False, "answer": out.strip(), "profile": args["profile"]}


def test_defaults_from_the_argspec_and_the_timing():
    shell = ActionShell(commands={"echo probe": said(stdout="ok\n")})
    result = run_action(Probe, {}, shell)
    assert result["answer"] == "ok" and result["profile"] == "/nix/var/nix/profiles/system"
    timing = result["nixfleet_timing"]
    assert 0 < timing["started"] <= timing["finished"]


def test_an_unknown_option_is_refused_by_ansible():
    with pytest.raises(AnsibleActionFail, match="Unsupported parameters"):
        run_action(Probe, {"bogus": 1}, ActionShell())


@pytest.mark.parametrize(
    "args, message",
    [
        ({"words": ["ok", "a\0b"]}, "words[1]: a NUL byte cannot be carried to the host"),
        ({"settings": {"sub": "x\0"}}, "settings.sub: a NUL byte"),
        ({"profile": "relative/profile"}, "profile"),
        ({"path": "/etc/../etc/shadow"}, "path"),
    ],
)
def test_nul_bytes_and_bad_target_paths_fail_before_anything_runs(args, message):
    shell = ActionShell()
    result = run_action(Probe, args, shell)
    assert result["failed"] is True and message in result["msg"] and "web" in result["msg"]
    assert shell.performed == []
    assert "nixfleet_timing" in result


def test_nix_errors_and_refused_values_become_failed_results():
    nix = run_action(Probe, {"raise_": "nix"}, ActionShell())
    assert nix["failed"] is True and nix["rc"] == 2 and nix["cmd"] == ["nix-env"]
    assert nix["stderr"] == "error: no such profile\n" and nix["msg"].startswith("nix-env failed")
    value = run_action(Probe, {"raise_": "value"}, ActionShell())
    assert value["failed"] is True and value["msg"] == "web: keep must be 1 or more"


def test_refuse_nul_names_the_nested_option():
    refuse_nul({"a": ["x", {"b": "fine"}]}, "opt")
    with pytest.raises(ValueError, match=r"opt\[1\]\.b: a NUL byte"):
        refuse_nul(["x", {"b": "\0"}], "opt")
    with pytest.raises(ValueError, match="argument: a NUL byte"):
        refuse_nul("\0")


def test_verdict_fails_or_warns():
    assert NixosAction.verdict({}, None, True, "fine") == {"msg": "fine"}
    assert NixosAction.verdict({}, "bad", True, "fine") == {"msg": "bad", "failed": True}
    assert NixosAction.verdict({}, "bad", False, "fine") == {"msg": "bad", "failed": False, "warnings": ["bad"]}


def test_the_deployer_names_the_awx_job_and_user():
    me = "%s@%s" % (getpass.getuser(), socket.gethostname())
    plain = NixosAction.deployer({})
    assert (plain.by, plain.awx_job, plain.awx_user, plain.flake) == (me, None, None, None)
    awx = NixosAction.deployer(
        {"awx_job_id": 42, "awx_user_name": "", "tower_user_name": "bob", "nixos_flake": "git+file:///srv/fleet"}
    )
    assert (awx.awx_job, awx.awx_user, awx.flake) == ("42", "bob", "git+file:///srv/fleet")


def test_the_ssh_target_is_the_connections():
    conn = Connection(
        "ssh",
        host="10.0.0.5",
        remote_user="deploy",
        port=2222,
        private_key_file="/keys/id",
        ssh_args="-o ControlMaster=auto",
        ssh_common_args="-o UserKnownHostsFile=/fleet/known_hosts",
        ssh_extra_args="",
        host_key_checking=True,
    )
    action = make_action(Probe, connection=conn)
    target = action.ssh_target({"inventory_hostname": "web"})
    assert (target.host, target.user, target.port, target.private_key, target.label) == (
        "10.0.0.5",
        "deploy",
        2222,
        "/keys/id",
        "web",
    )
    assert target.extra_args == ("-o", "ControlMaster=auto", "-o", "UserKnownHostsFile=/fleet/known_hosts")


def test_host_key_checking_off_in_ansible_is_off_for_nix_too():
    conn = Connection("ssh", host="10.0.0.5", host_key_checking=False)
    target = make_action(Probe, connection=conn).ssh_target({})
    assert target.extra_args == ("-o", "StrictHostKeyChecking=no") and target.label == "10.0.0.5"


def test_a_connection_without_options_falls_back_to_the_play_context():
    target = make_action(Probe, connection=Connection("unit")).ssh_target({})
    assert (target.host, target.user, target.port) == ("web", None, None)


def test_fresh_shells_only_over_ssh():
    base = NixosAction.fresh_shell  # (the harness's actions answer None themselves)
    assert base(make_action(Probe, connection=Connection("local")), {}) is None
    fresh = base(make_action(Probe, connection=Connection("ansible.builtin.ssh")), {"inventory_hostname": "web"})
    assert isinstance(fresh, ConnectionShell) and fresh.fresh is True and fresh.label == "web"
