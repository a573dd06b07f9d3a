"""The controller's operations on a transaction (module_utils._transaction.operations): each one's
command run by the real /bin/sh on a work directory in tmp_path where it can be, and each one's parser
reading the answer: exit codes of their own first, then the state lines, else PENDING."""

import subprocess
from dataclasses import dataclass

from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction import command as tr
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction import operations as ops
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction.protocol import Deletion, Verdict

P = "/nix/store/fdbsdqh96xcdfvxizjzr90dqy2v5d87k-nixos-system-web-2"
PREV = "/nix/store/vsp9a6ydyqvbnv7majfxkyl0vjdjwlxq-nixos-system-web-1"


@dataclass(frozen=True)
class Said:
    """An answer as the connection gives it."""

    rc: int
    stdout: str = ""
    stderr: str = ""


def tx(work_dir):
    return tr.Transaction(
        path=P,
        action="switch",
        profile="/nix/var/nix/profiles/system",
        work_dir=str(work_dir),
        owner="me@ctl pid 1",
        prev_generation=3,
        prev_profile_path=PREV,
        prev_running=PREV,
        confirm_timeout=5,
    )


def run(operation):
    proc = subprocess.run(
        ["/bin/sh", "-c", operation.command.text],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        check=False,
    )
    return operation.parse(Said(proc.returncode, proc.stdout, proc.stderr))


def test_a_launch_is_read_by_its_own_exit_code_first():
    locked = ops.parse_launch(Said(75, "nixfleet-holder\tyou@ctl pid 9\n", ""))
    assert locked == ops.Launch(Verdict.LOCKED, 75, "", "", "you@ctl pid 9")
    # an exit code of its own wins over a state line that says otherwise
    assert ops.parse_launch(Said(76, "nixfleet-status\tdone\n")).verdict is Verdict.STALE


def test_a_launch_keeps_the_activations_output_without_the_state_lines():
    done = ops.parse_launch(Said(0, "starting sshd.service\nnixfleet-status\tdone\nnixfleet-holder\t\n", "warn\n"))
    assert done == ops.Launch(Verdict.DONE, 0, "starting sshd.service\n", "warn\n", None)
    assert not done.units_failed
    failed_units = ops.parse_launch(Said(4, "nixfleet-status\tdone\n"))
    assert failed_units.verdict is Verdict.DONE and failed_units.units_failed
    restored = ops.parse_launch(Said(1, "boom\nnixfleet-status\tfailed-restored\n"))
    assert (restored.verdict, restored.stdout) == (Verdict.FAILED_RESTORED, "boom\n")


def test_a_launch_without_a_verdict_is_pending():
    assert ops.parse_launch(Said(255, "", "ssh: connection reset")).verdict is Verdict.PENDING
    assert ops.parse_launch(Said(0, "nixfleet-status\t\n")).verdict is Verdict.PENDING
    assert ops.parse_launch(Said(0, "nixfleet-status\tno-such-word\n")).verdict is Verdict.PENDING


def test_the_launch_operation():
    t = tx("/run/nixfleet/abc")
    launch = ops.launch(t, True, "nixfleet-abc")
    assert launch.name == "launch" and launch.command == tr.launch_command(t, True, "nixfleet-abc")


def test_status_polls_the_verdict_the_script_wrote(tmp_path):
    t = tx(tmp_path)
    assert run(ops.status(t)) is Verdict.PENDING  # no status yet: the script still runs
    (tmp_path / "status").write_text("rolled-back\n")
    assert run(ops.status(t)) is Verdict.ROLLED_BACK
    assert ops.status(t).parse(Said(255, "nixfleet-status\tdone\n")) is None  # the poll itself failed


def test_a_confirmation_deletes_the_canary_and_reads_the_verdict(tmp_path):
    work = tmp_path / "w"
    work.mkdir()
    t = tx(work)
    (work / "canary").write_text("")
    (work / "status").write_text("confirmed\n")
    confirmed = run(ops.confirm(t))
    assert (confirmed.deletion, confirmed.verdict, confirmed.reached) == (Deletion.DELETED, Verdict.CONFIRMED, True)
    assert not work.exists()  # confirmed: the work directory is cleaned up


def test_a_confirmation_too_late_finds_no_canary_and_the_rollback(tmp_path):
    work = tmp_path / "w"
    work.mkdir()
    (work / "status").write_text("rolled-back\n")
    late = run(ops.confirm(tx(work)))
    assert (late.deletion, late.verdict, late.reached) == (Deletion.ABSENT, Verdict.ROLLED_BACK, True)
    assert work.exists()


def test_a_confirmation_that_did_not_reach_the_host_reads_no_verdict():
    for rc, deletion in ((255, Deletion.NO_CONNECTION), (1, Deletion.FAILED), (4, Deletion.REFUSED)):
        said = Said(rc, "nixfleet-status\tconfirmed\n")
        confirmation = ops.parse_confirmation(said)
        assert (confirmation.deletion, confirmation.verdict, confirmation.reached) == (deletion, Verdict.PENDING, False)
        assert confirmation.answer is said


def test_cleanup_removes_the_work_directory(tmp_path):
    work = tmp_path / "w"
    (work / "sub").mkdir(parents=True)
    assert run(ops.cleanup(tx(work))) is True and not work.exists()
    assert ops.cleanup(tx(work)).parse(Said(1)) is False
