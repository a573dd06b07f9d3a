"""The transaction script of a deploy-rs profile besides system (``Activates.DEPLOY_RS``), run for real:
``launch_command`` under ``sh``, detached with ``setsid``, the real ``flock``, the real ``nix-store``
and ``nix-env`` on a profile in a temporary directory, store paths with a ``deploy-rs-activate``
script. The activation runs with ``PROFILE`` set, as the profile's user (a stand-in ``runuser`` on
PATH notes who), a failure restores the previous generation and activates it again, the watchdog
rolls back an unconfirmed one, and /run/current-system is never looked at."""

import os
import pwd
import subprocess
import time

import pytest
from script_sandbox import ScriptSandbox

from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction import command as tr
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction.protocol import Deletion, Verdict
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generation_commands import NOTHING_TO_ACTIVATE

RUNUSER = r"""#!/bin/sh
# runuser -u USER -- COMMAND...: notes USER, then runs COMMAND (as this user: no second account here)
[ "$1" = -u ] && [ "$3" = -- ] || { echo "runuser: unexpected arguments: $*" >&2; exit 2; }
echo "runuser $2" >> "$LOG"
shift 3
exec "$@"
"""


class ProfileHost(ScriptSandbox):
    """A temporary profile, lock, work directory and log; store paths made with ``nix-store --add``."""

    def __init__(self, root):
        (root / "profiles").mkdir()
        super().__init__(root, str(root / "profiles" / "app"), {"runuser": RUNUSER})
        # a running-system link that must stay untouched (the transaction would restore a NixOS one)
        self.running = str(root / "current-system")
        os.symlink("/nonexistent-system", self.running)

    def store_path(self, name, script):
        """A store path whose deploy-rs-activate runs ``script`` (None: it has none)."""
        directory = self.root / "src" / name
        directory.mkdir(parents=True)
        if script is not None:
            activate = directory / "deploy-rs-activate"
            activate.write_text('#!/bin/sh\necho "%s PROFILE=$PROFILE" >> "$LOG"\n%s\n' % (name, script))
            activate.chmod(0o755)
        (directory / "version").write_text(name)
        return subprocess.run(
            ["nix-store", "--add", str(directory)], stdout=subprocess.PIPE, universal_newlines=True, check=True
        ).stdout.strip()

    def tx(self, path, **kw):
        prev = self.generation()
        fields = dict(
            path=path,
            action="switch",
            profile=self.profile,
            activates=tr.Activates.DEPLOY_RS,
            work_dir=str(self.root / ("w%d" % time.time_ns())),
            owner="test",
            prev_generation=prev,
            prev_profile_path=os.path.realpath(self.profile) if prev is not None else None,
            prev_running="/nonexistent-system",
            lock_wait=1,
            lock_file=str(self.root / "deploy.lock"),
            running_link=self.running,
        )
        fields.update(kw)
        return tr.Transaction(**fields)

    def status(self, t, wait=10.0):
        """The script's verdict, once it has one (the watchdog writes it after the launch returned)."""
        deadline = time.monotonic() + wait
        status_file = os.path.join(t.work_dir, "status")
        while time.monotonic() < deadline:
            if os.path.exists(status_file) and open(status_file).read().strip():
                return open(status_file).read().strip()
            time.sleep(0.1)
        return None

    def logged(self):
        return self.log.read_text().splitlines()


@pytest.fixture
def host(tmp_path):
    return ProfileHost(tmp_path)


@pytest.mark.host_tools
def test_the_profile_is_set_then_activated_with_profile_in_the_environment(host):
    one = host.store_path("one", "exit 0")
    proc, (out, status, _holder) = host.launch(host.tx(one))
    assert (proc.returncode, status, host.generation()) == (0, Verdict.DONE.word, 1)
    assert os.path.realpath(host.profile) == one
    assert host.logged() == ["one PROFILE=%s" % host.profile]
    assert os.readlink(host.running) == "/nonexistent-system"  # no NixOS system was touched


@pytest.mark.host_tools
def test_a_profile_without_an_activation_script_is_only_set(host):
    plain = host.store_path("plain", None)
    proc, (out, status, _holder) = host.launch(host.tx(plain))
    assert (proc.returncode, status, host.generation()) == (0, Verdict.DONE.word, 1)
    assert NOTHING_TO_ACTIVATE in out and host.logged() == []


@pytest.mark.host_tools
def test_a_failed_activation_restores_the_previous_generation_and_activates_it_again(host):
    good, bad = host.store_path("good", "exit 0"), host.store_path("bad", "echo cannot start >&2; exit 3")
    host.launch(host.tx(good))
    proc, (_out, status, _holder) = host.launch(host.tx(bad))
    assert (proc.returncode, status) == (3, Verdict.FAILED_RESTORED.word)
    assert "cannot start" in proc.stderr
    assert (host.generation(), os.path.realpath(host.profile)) == (1, good)
    assert sorted(os.listdir(os.path.dirname(host.profile))) == ["app", "app-1-link"]  # generation 2 deleted
    # the previous generation's activation ran again after the failed one
    assert host.logged() == [
        "good PROFILE=%s" % host.profile,
        "bad PROFILE=%s" % host.profile,
        "good PROFILE=%s" % host.profile,
    ]


@pytest.mark.host_tools
def test_without_auto_rollback_the_failed_generation_stays(host):
    good, bad = host.store_path("good", "exit 0"), host.store_path("bad", "exit 3")
    host.launch(host.tx(good))
    proc, (_out, status, _holder) = host.launch(host.tx(bad, auto_rollback=False))
    assert (proc.returncode, status) == (3, Verdict.FAILED_KEPT.word)
    assert (host.generation(), os.path.realpath(host.profile)) == (2, bad)
    assert host.logged()[-1] == "bad PROFILE=%s" % host.profile


@pytest.mark.host_tools
def test_an_unconfirmed_activation_is_rolled_back_by_the_watchdog(host):
    one, two = host.store_path("one", "exit 0"), host.store_path("two", "exit 0")
    host.launch(host.tx(one))
    t = host.tx(two, confirm_timeout=1)
    proc, (_out, status, _holder) = host.launch(t)
    assert (proc.returncode, Verdict.read(status)) == (0, Verdict.PENDING)  # the watchdog waits
    assert host.status(t) == Verdict.ROLLED_BACK.word
    assert (host.generation(), os.path.realpath(host.profile)) == (1, one)
    assert host.logged()[-1] == "one PROFILE=%s" % host.profile  # the restored generation activated again


@pytest.mark.host_tools
def test_a_confirmed_activation_stays(host):
    one, two = host.store_path("one", "exit 0"), host.store_path("two", "exit 0")
    host.launch(host.tx(one))
    t = host.tx(two, confirm_timeout=10)
    host.launch(t)
    confirm = host.confirm(t)
    assert (confirm.returncode, tr.parse_status(confirm.stdout)[0]) == (Deletion.DELETED.code, Verdict.CONFIRMED.word)
    assert (host.generation(), os.path.realpath(host.profile)) == (2, two)


@pytest.mark.host_tools
def test_the_profile_is_set_and_activated_as_its_user(host):
    one = host.store_path("one", "exit 0")
    proc, (_out, status, _holder) = host.launch(host.tx(one, run_as="alice"))
    assert (proc.returncode, status, host.generation()) == (0, Verdict.DONE.word, 1)
    # nix-env --set, then deploy-rs-activate, each as alice
    assert host.logged() == ["runuser alice", "runuser alice", "one PROFILE=%s" % host.profile]


def test_a_held_nixos_lock_does_not_concern_a_profile():
    t = tr.Transaction(
        path="/nix/store/x", action="switch", profile="/p", work_dir="/w", owner="o", activates=tr.Activates.DEPLOY_RS
    )
    assert tr.NIXOS_LOCK not in tr.script(t).text
    assert (
        tr.NIXOS_LOCK
        in tr.script(tr.Transaction(path="/nix/store/x", action="switch", profile="/p", work_dir="/w", owner="o")).text
    )


def as_user(user):
    return tr.Transaction(
        path="/nix/store/x",
        action="switch",
        profile="/p",
        work_dir="/w",
        owner="o",
        activates=tr.Activates.DEPLOY_RS,
        run_as=user,
    )


@pytest.mark.parametrize("user", ["alice; touch /pwned", "../root", "{{ lookup('pipe', 'id') }}", "-u", ""])
def test_a_user_that_is_not_a_user_name_is_refused(user):
    if user == "":
        assert "run_as=" in tr.arguments(as_user(user))  # no user: root's own commands
        return
    with pytest.raises(ValueError, match="is not a user name"):
        tr.arguments(as_user(user))


def test_root_runs_its_own_commands():
    assert "run_as=" in tr.arguments(as_user("root"))  # the script runs them without runuser
    assert "run_as=alice" in tr.arguments(as_user("alice"))
    assert 'runuser -u "$run_as" -- "$@"' in tr.script_text().text


@pytest.mark.host_tools
def test_a_missing_profile_directory_is_made_for_the_profile_user(host):
    one = host.store_path("one", "exit 0")
    host.profile = str(host.root / "per-user" / "nobody" / "app")  # as deploy-rs names a user's profile
    os.makedirs(os.path.dirname(os.path.dirname(host.profile)))
    proc, (_out, status, _holder) = host.launch(host.tx(one, run_as="nobody"))
    assert (proc.returncode, status, host.generation()) == (0, Verdict.DONE.word, 1), proc.stderr
    assert os.stat(os.path.dirname(host.profile)).st_uid == pwd.getpwnam("nobody").pw_uid
