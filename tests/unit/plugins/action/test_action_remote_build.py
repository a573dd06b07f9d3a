"""plugins/action/remote_build.py, delegated to the build host: the systems of the listed hosts built
there in one copy and one realise, what it already has not built again, a failed system named with its
host, check mode, and bad input refused before the build host is asked. The build host's connection is
an ActionShell answering by needle; the real NixCli's nix copy lines are recorded."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.action import remote_build as plugin

from action_harness import ActionShell, Connection, make_action, said
from recorded_copies import RecordedCopies

WEB = ("/nix/store/%s-nixos-system-web.drv" % ("a" * 32), "/nix/store/%s-nixos-system-web" % ("b" * 32))
DB = ("/nix/store/%s-nixos-system-db.drv" % ("c" * 32), "/nix/store/%s-nixos-system-db" % ("d" * 32))
ARGS = {"hosts": ["web", "db"], "paths": {"web": WEB[1], "db": DB[1]}, "drv_paths": {"web": WEB[0], "db": DB[0]}}
VALID = "--check-validity"
REALISE = "nix-store --realise --keep-going"
URL = "ssh-ng://nix@127.0.0.9?ssh-key=/keys/builder"


def run(monkeypatch, args, commands=None, check_mode=False, copies=None):
    """The action delegated to ``builder`` (127.0.0.9, user nix, its own key); returns result, shell, copies."""
    shell = ActionShell(commands=commands or {})
    copies = copies or RecordedCopies()
    labels = []

    def connection_shell(action, label, fresh=False):
        labels.append(label)
        return shell

    monkeypatch.setattr(plugin, "ConnectionShell", connection_shell)
    action = make_action(
        "remote_build",
        args,
        check_mode=check_mode,
        nix=lambda options: copies.nix,
        connection=Connection(host="127.0.0.9", remote_user="nix", private_key_file="/keys/builder"),
    )
    action._task.delegate_to = "builder"
    result = action.run(task_vars={"inventory_hostname": "web"})
    assert labels in ([], ["builder"])  # the build host's own connection, named as the delegated host
    return result, shell, copies


def test_the_missing_systems_are_built_in_one_copy_and_one_realise(monkeypatch):
    result, shell, copies = run(monkeypatch, ARGS, {VALID: said(0, WEB[1] + "\n"), REALISE: said(0, DB[1] + "\n")})
    assert not result.get("failed"), result
    assert result["changed"] is True and result["steps"] == ["copy", "realise"]
    assert result["built"] == {"web": WEB[1], "db": DB[1]} and result["failed_hosts"] == {}
    assert result["builder"] == "builder"
    assert result["from_store"] == {"web": URL, "db": URL}  # where each target later copies its system from
    assert result["msg"] == "2 of 2 systems built on builder"
    assert copies.destination() == "ssh-ng://nix@127.0.0.9" and copies.words()[-1] == DB[0]


def test_systems_the_build_host_has_change_nothing(monkeypatch):
    result, shell, copies = run(monkeypatch, ARGS, {VALID: said(0, "%s\n%s\n" % (WEB[1], DB[1]))})
    assert result["changed"] is False and result["steps"] == [] and copies.copies == []
    assert result["built"] == {"web": WEB[1], "db": DB[1]}


def test_a_system_that_fails_to_build_is_named_with_its_host_and_the_others_stand(monkeypatch):
    stderr = "error: builder for '%s' failed with exit code 1\n" % DB[0]
    result, shell, copies = run(
        monkeypatch,
        ARGS,
        {VALID: [said(0, ""), said(0, WEB[1] + "\n")], REALISE: said(1, "", stderr), "--read-log": said(1)},
    )
    assert not result.get("failed"), result  # the play goes on with the hosts that built
    assert result["built"] == {"web": WEB[1]} and result["from_store"] == {"web": URL}
    assert result["failed_hosts"] == {
        "db": "building %s on the build host builder failed: error: builder for '%s' failed with exit code 1"
        % (DB[0], DB[0])
    }
    assert result["msg"] == "1 of 2 systems built on builder"


def test_check_mode_builds_nothing_and_says_how_many_would_be(monkeypatch):
    result, shell, copies = run(monkeypatch, ARGS, check_mode=True)
    assert result["changed"] is True and result["built"] == {} and result["failed_hosts"] == {}
    assert result["msg"] == "2 systems would be built on builder" and result["from_store"] == {}
    assert shell.performed == [] and copies.copies == []


def test_a_host_without_a_system_is_left_out(monkeypatch):
    args = dict(ARGS, hosts=["web", "gone"])
    result, shell, copies = run(monkeypatch, args, check_mode=True)
    assert result["msg"] == "1 systems would be built on builder"


@pytest.mark.parametrize(
    "args, message",
    [
        (dict(ARGS, drv_paths={"web": WEB[0]}), "the systems to build: 'db'"),
        (dict(ARGS, paths={"web": "/tmp/web", "db": DB[1]}), "the systems to build: paths: "),
    ],
)
def test_systems_that_are_not_store_paths_fail_before_the_build_host_is_asked(monkeypatch, args, message):
    result, shell, copies = run(monkeypatch, args)
    assert result["failed"] is True and message in result["msg"], result
    assert shell.performed == [] and copies.copies == []
