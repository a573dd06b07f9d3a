"""The transaction script run for real: ``launch_command`` under ``sh`` (as Ansible sends it, with
`` && sleep 0`` appended), detached with ``setsid``, the real ``flock``, and stand-ins for
``nix-env`` (generation links in a temporary profiles directory) and for each system's
``switch-to-configuration`` (it moves a temporary "/run/current-system"). Every outcome the
Activator matches on: done, failed-restored, stale, locked, noop, rolled-back and confirmed."""

import os
import shutil
import subprocess
import time

import pytest
from script_sandbox import ScriptSandbox

from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction import command as tr
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction.protocol import (
    RC_TIMED_OUT,
    Deletion,
    Verdict,
)

NIX_ENV = r"""#!/bin/sh
# nix-env -p PROFILE --set PATH | --switch-generation N | --delete-generations N...
echo "$*" >> "$LOG"
p=$2; base=${p##*/}; dir=${p%/*}
case "$3" in
  --set)
    n=1; while [ -L "$dir/$base-$n-link" ]; do n=$((n + 1)); done
    ln -s "$4" "$dir/$base-$n-link" && ln -sfn "$base-$n-link" "$p" ;;
  --switch-generation)
    [ -L "$dir/$base-$4-link" ] || { echo "error: generation $4 does not exist" >&2; exit 1; }
    ln -sfn "$base-$4-link" "$p" ;;
  --delete-generations)
    shift 3; for n in "$@"; do rm -f "$dir/$base-$n-link"; done ;;
esac
"""
STC = r"""#!/bin/sh
# switch-to-configuration of @self@: takes @sleep@ s, exits @rc@ (after switching, for 0 and 4)
echo "@self@ $1 bootloader=${NIXOS_INSTALL_BOOTLOADER:-}" >> "$LOG"
sleep @sleep@
case "$1" in
  switch|test) [ @rc@ -eq 0 ] || [ @rc@ -eq 4 ] && ln -sfn @self@ "$RUNNING" ;;
esac
exit @rc@
"""


class Host(ScriptSandbox):
    """A temporary host: profiles, systems, a running link, a lock and a work directory."""

    def __init__(self, root):
        self.profiles = root / "profiles"
        self.profiles.mkdir()
        self.running = str(root / "current-system")
        super().__init__(root, str(self.profiles / "system"), {"nix-env": NIX_ENV}, RUNNING=self.running)
        self.count = 0

    def system(self, rc=0, sleep=0):
        self.count += 1
        path = self.root / "store" / ("system-%d" % self.count)
        (path / "bin").mkdir(parents=True)
        stc = path / "bin" / "switch-to-configuration"
        stc.write_text(STC.replace("@self@", str(path)).replace("@rc@", str(rc)).replace("@sleep@", str(sleep)))
        stc.chmod(0o755)
        return str(path)

    def current(self):
        return os.readlink(self.running) if os.path.islink(self.running) else None

    def tx(self, path, action="switch", confirm_timeout=0, **kw):
        prev = self.generation()
        prev_path = os.readlink(str(self.profiles / ("system-%s-link" % prev))) if prev is not None else None
        fields = dict(
            path=path,
            action=action,
            profile=self.profile,
            work_dir=str(self.root / ("w%d" % time.time_ns())),
            owner="test $(touch pwned) `id`",
            prev_generation=prev,
            prev_profile_path=prev_path,
            prev_running=self.current(),
            confirm_timeout=confirm_timeout,
            lock_wait=1,
            lock_file=str(self.root / "deploy.lock"),
            running_link=self.running,
        )
        fields.update(kw)
        return tr.Transaction(**fields)

    def launch(self, t, background=False):
        if background:
            return self.start(tr.launch_command(t, systemd=False, unit="u").text + " && sleep 0")
        return super().launch(t)


@pytest.fixture
def host(tmp_path):
    return Host(tmp_path)


def test_a_first_switch_and_a_second_one(host):
    one, two = host.system(), host.system()
    proc, (_out, status, _holder) = host.launch(host.tx(one))
    assert (proc.returncode, status, host.generation(), host.current()) == (0, Verdict.DONE.word, 1, one)
    proc, (_out, status, _holder) = host.launch(host.tx(two))
    assert (proc.returncode, status, host.generation(), host.current()) == (0, Verdict.DONE.word, 2, two)
    assert not (host.root / "pwned").exists()  # the owner text is data


SYSTEMD_RUN = r"""#!/bin/sh
# systemd-run OPTIONS... COMMAND...: runs COMMAND detached, as the transient unit would (no systemd here)
while [ $# -gt 0 ]; do case $1 in -E) shift 2 ;; --*) shift ;; *) break ;; esac; done
setsid "$@" </dev/null >/dev/null 2>&1 &
"""


def test_on_systemd_the_script_runs_from_its_file_with_its_inputs_inside(host):
    """The unit's launcher writes the script, its inputs set by a quoted ``set --`` line, to a file
    and runs ``sh FILE`` (systemd would expand ``$`` in a unit's arguments): hostile inputs stay data."""
    (host.root / "bin" / "systemd-run").write_text(SYSTEMD_RUN)
    (host.root / "bin" / "systemd-run").chmod(0o755)
    one = host.system()
    t = host.tx(one, owner="test $(touch pwned) `touch pwned2` ${HOME} 'quoted'")
    proc = host.run(tr.launch_command(t, systemd=True, unit="u").text)
    assert (proc.returncode, tr.split_launch_output(proc.stdout)[1]) == (0, Verdict.DONE.word), proc.stderr
    assert (host.generation(), host.current()) == (1, one)
    assert not (host.root / "pwned").exists() and not (host.root / "pwned2").exists()
    with open(t.lock_file + ".owner") as owner:
        assert owner.read() == t.owner + "\n"


@pytest.mark.parametrize("shell", ["bash", "busybox"])
def test_the_script_runs_the_same_under_bash_and_busybox_sh(host, shell):
    """The fleet's hosts run it with their /bin/sh: dash (the other tests here), bash (NixOS's
    /bin/sh, in POSIX mode as ``sh``) and busybox's ash; the script's constructs are POSIX."""
    os.symlink(shutil.which(shell), str(host.root / "bin" / "sh"))
    which = subprocess.run(
        ["sh", "-c", "readlink /proc/$$/exe; :"],
        env=host.env,
        stdout=subprocess.PIPE,
        universal_newlines=True,
        check=True,
    ).stdout.strip()
    assert os.path.basename(which) == shell  # the launcher's sh, and the script's
    one, two, bad = host.system(), host.system(), host.system(rc=1)
    proc, (_out, status, _holder) = host.launch(host.tx(one))
    assert (proc.returncode, status, host.generation(), host.current()) == (0, Verdict.DONE.word, 1, one)
    proc, (_out, status, _holder) = host.launch(host.tx(bad))
    assert (proc.returncode, status, host.generation(), host.current()) == (1, Verdict.FAILED_RESTORED.word, 1, one)
    proc, (_out, status, holder) = host.launch(host.tx(two, prev_generation=7))
    assert (proc.returncode, status, holder) == (Verdict.STALE.code, Verdict.STALE.word, "system-1-link")
    proc, (_out, status, _holder) = host.launch(host.tx(one))
    assert (proc.returncode, status) == (Verdict.NOOP.code, Verdict.NOOP.word)
    assert not (host.root / "pwned").exists()  # the owner text is data


def test_a_failed_activation_restores_everything_and_deletes_the_new_generation(host):
    good, bad = host.system(), host.system(rc=1)
    host.launch(host.tx(good))
    proc, (_out, status, _holder) = host.launch(host.tx(bad))
    assert (proc.returncode, status) == (1, Verdict.FAILED_RESTORED.word)
    assert (host.generation(), host.current()) == (1, good)
    assert sorted(os.listdir(str(host.profiles))) == ["system", "system-1-link"]  # generation 2 deleted
    assert "%s test" % good in host.log.read_text()  # the previous system re-activated


def test_exit_code_4_keeps_the_new_system(host):
    host.launch(host.tx(host.system()))
    units_failed = host.system(rc=4)
    proc, (_out, status, _holder) = host.launch(host.tx(units_failed))
    assert (proc.returncode, status, host.current()) == (4, Verdict.DONE.word, units_failed)


def test_a_profile_that_moved_is_stale_and_nothing_changes(host):
    one, two = host.system(), host.system()
    host.launch(host.tx(one))
    stale = host.tx(two, prev_generation=7)
    proc, (_out, status, holder) = host.launch(stale)
    assert (proc.returncode, status, holder) == (Verdict.STALE.code, "stale", "system-1-link")
    assert (host.generation(), host.current()) == (1, one)


def test_a_held_lock_is_named_and_nothing_changes(host):
    one = host.system()
    (host.root / "deploy.lock.owner").write_text("alice@ctl, deploying by hand\n")
    holder = subprocess.Popen(["flock", str(host.root / "deploy.lock"), "sleep", "30"])
    try:
        time.sleep(0.3)
        proc, (_out, status, who) = host.launch(host.tx(one))
    finally:
        holder.kill()
        holder.wait()
    assert (proc.returncode, status, who) == (Verdict.LOCKED.code, "locked", "alice@ctl, deploying by hand")
    assert host.generation() is None and host.current() is None


def test_what_is_already_there_is_a_noop(host):
    one = host.system()
    host.launch(host.tx(one))
    proc, (_out, status, _holder) = host.launch(host.tx(one))
    assert (proc.returncode, status, host.generation()) == (Verdict.NOOP.code, "noop", 1)


def test_an_unconfirmed_change_is_rolled_back_by_the_watchdog(host):
    one, two = host.system(), host.system()
    host.launch(host.tx(one))
    t = host.tx(two, confirm_timeout=1)
    proc, (_out, status, _holder) = host.launch(t)
    assert proc.returncode == 0 and host.current() == two  # activated, now waiting for the canary
    for _attempt in range(50):
        if (host.root / t.work_dir / "status").exists():
            break
        time.sleep(0.1)
    assert open(os.path.join(t.work_dir, "status")).read().strip() == Verdict.ROLLED_BACK.word
    assert (host.generation(), host.current()) == (1, one)


def test_a_confirmed_change_stays(host):
    one, two = host.system(), host.system()
    host.launch(host.tx(one))
    t = host.tx(two, confirm_timeout=10)
    proc, (_out, _status, _holder) = host.launch(t)
    assert proc.returncode == 0
    confirm = host.confirm(t)
    assert confirm.returncode == Deletion.DELETED.code
    assert tr.parse_status(confirm.stdout)[0] == Verdict.CONFIRMED.word
    assert (host.generation(), host.current()) == (2, two) and not os.path.exists(t.work_dir)


def test_without_auto_rollback_a_failed_activation_is_left_as_it_is(host):
    good, bad = host.system(), host.system(rc=1)
    host.launch(host.tx(good))
    proc, (_out, status, _holder) = host.launch(host.tx(bad, auto_rollback=False))
    assert (proc.returncode, status) == (1, Verdict.FAILED_KEPT.word)
    assert host.generation() == 2 and "%s test" % good not in host.log.read_text()  # nothing restored


def test_an_activation_past_its_timeout_is_killed_and_rolled_back(host):
    good, slow = host.system(), host.system(sleep=30)
    host.launch(host.tx(good))
    started = time.monotonic()
    proc, (_out, status, _holder) = host.launch(host.tx(slow, activation_timeout=1))
    assert (proc.returncode, status) == (RC_TIMED_OUT, Verdict.FAILED_RESTORED.word)
    assert time.monotonic() - started < 20  # killed, not waited for (the stand-in sleeps 30 s)
    assert (host.generation(), host.current()) == (1, good)


def test_install_bootloader_reaches_the_new_activation_only(host):
    one, two = host.system(), host.system()
    host.launch(host.tx(one))
    proc, (_out, status, _holder) = host.launch(host.tx(two, install_bootloader=True))
    assert (proc.returncode, status) == (0, Verdict.DONE.word)
    log = host.log.read_text().splitlines()
    assert log[-1] == "%s switch bootloader=1" % two and "%s switch bootloader=" % one in log


def test_a_specialisation_runs_while_the_profile_gets_the_base_system(host):
    base, special = host.system(), host.system()
    proc, (_out, status, _holder) = host.launch(host.tx(base, activate_path=special))
    assert (proc.returncode, status) == (0, Verdict.DONE.word)
    assert os.readlink(str(host.profiles / "system-1-link")) == base and host.current() == special
    # run again, nothing to do: the running system is the specialisation, the profile the base
    proc, (_out, status, _holder) = host.launch(host.tx(base, activate_path=special))
    assert status == Verdict.NOOP.word
