"""The hosts' audit trail (module_utils._lifecycle.audit_log): records written by the real shell function with
hostile values, read back, and which record explains a running system; the transaction script
records exactly the outcomes that changed a host."""

import json
import subprocess

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import audit_log as al
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction import command as tr
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction.protocol import Verdict
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import argv

A = "/nix/store/%s-nixos-system-h-1" % ("a" * 32)
B = "/nix/store/%s-nixos-system-h-2" % ("b" * 32)
C = "/nix/store/%s-nixos-system-h-3" % ("c" * 32)
HOSTILE = "a'b\"c$(touch pwned)`touch pwned2`\n{{ 7 * 7 }}\\ %s é"


def run_audit(head, profile, log, *audit_args, cwd=None):
    """The host's audit function, then one call of it (``audit STATUS [RC]``), under ``sh``."""
    script = al.append_function().then(argv("audit", head, str(profile), str(log), al.DEFAULT_KEEP, *audit_args))
    subprocess.run(["sh", "-c", script.text], cwd=cwd, check=True)


def append(tmp_path, head, status, rc=""):
    profile = tmp_path / "system"
    if not profile.is_symlink():
        (tmp_path / "system-7-link").symlink_to(A)
        profile.symlink_to("system-7-link")
    log = tmp_path / "log" / "audit.log"
    run_audit(head, profile, log, status, *([rc] if rc != "" else []), cwd=str(tmp_path))
    return log


def test_a_record_holds_hostile_values_as_data(tmp_path):
    who = al.Deployer(by=HOSTILE, awx_job="42", awx_user=HOSTILE, flake="git+https://me:s3cret@example.org/infra?rev=1")
    log = append(tmp_path, al.record_head(who, "web-01", "deploy", "switch", B, A, 6), "confirmed", "0")
    lines = log.read_text().splitlines()
    assert len(lines) == 1 and not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()
    record = json.loads(lines[0])
    assert record == {
        "host": "web-01",
        "kind": "deploy",
        "action": "switch",
        "path": B,
        "previous": A,
        "by": HOSTILE,
        "awx_job": "42",
        "awx_user": HOSTILE,
        "flake": "git+https://example.org/infra?rev=1",
        "rev": "1",
        "previous_generation": 6,
        "status": "confirmed",
        "rc": 0,
        "generation": 7,
        "time": record["time"],
    }
    assert isinstance(record["time"], int) and record["time"] > 1_700_000_000


def test_records_are_appended_and_read_back_oldest_first(tmp_path):
    who = al.Deployer(by="alice@ctl")
    append(tmp_path, al.record_head(who, "h", "deploy", "switch", B, A), "done", "0")
    log = append(tmp_path, al.record_head(who, "h", "rollback", "switch", A, B), "failed-restored", "1")
    (log.parent / "junk").write_text("")
    with open(str(log), "a") as handle:
        handle.write("not json\n")
    out = subprocess.run(
        ["sh", "-c", al.read_command(10, str(log)).text], stdout=subprocess.PIPE, universal_newlines=True, check=True
    ).stdout
    records, malformed = al.parse_records(out)
    assert [(r.kind, r.status, r.rc, r.path) for r in records] == [
        ("deploy", "done", 0, B),
        ("rollback", "failed-restored", 1, A),
    ]
    assert malformed == 1
    assert al.parse_records(
        subprocess.run(
            ["sh", "-c", al.read_command(1, str(log)).text], stdout=subprocess.PIPE, universal_newlines=True, check=True
        ).stdout
    ) == ([], 1)


def test_an_exit_code_that_is_not_a_number_and_a_profile_without_generation_are_null(tmp_path):
    log = tmp_path / "audit.log"
    head = al.record_head(al.Deployer("u@c"), "h", "deploy", "test", A, None)
    run_audit(head, tmp_path / "none", log, "done", "x;y")
    record = json.loads(log.read_text())
    assert (record["rc"], record["generation"], record["previous"]) == (None, None, None)


def rec(kind, action, path, previous, status):
    return al.AuditRecord(
        host="h",
        kind=kind,
        action=action,
        path=path,
        previous=previous,
        status=status,
        rc=0,
        generation=2,
        previous_generation=1,
        time=1,
        by="u@c",
    )


def test_the_record_that_explains_the_running_system():
    deployed = rec("deploy", "switch", B, A, "confirmed")
    assert al.explaining_record([deployed], B) == deployed
    assert al.explaining_record([deployed], C) is None  # switched by hand after the deploy
    failed = rec("deploy", "switch", C, B, "failed-restored")
    assert al.explaining_record([deployed, failed], B) == failed  # it went back to B
    watchdog = rec("deploy", "test", C, B, "rolled-back")
    assert al.explaining_record([deployed, watchdog], C) is None
    boot = rec("deploy", "boot", C, B, "done")
    assert al.explaining_record([deployed, boot], C) == boot  # rebooted into it
    assert al.explaining_record([deployed, boot], B) == deployed  # not rebooted yet
    assert al.explaining_record([boot], C) == boot
    assert al.explaining_record([], B) is None and al.explaining_record([deployed], None) is None


def test_a_deploy_rs_profiles_records_never_explain_the_running_system(tmp_path):
    deployed = rec("deploy", "switch", B, A, "confirmed")
    tools = al.AuditRecord(
        host="h",
        kind="deploy",
        action="switch",
        path=C,
        previous=None,
        status="confirmed",
        rc=0,
        generation=1,
        previous_generation=None,
        time=2,
        by="u@c",
        profile="/nix/var/nix/profiles/per-user/root/tools",
    )
    assert al.explaining_record([deployed, tools], B) == deployed  # the profile came after, the system stays B
    assert al.explaining_record([deployed, tools], C) is None
    # written and read back with its profile; a system's record has none
    log = tmp_path / "audit.log"
    head = al.record_head(al.Deployer("u@c"), "h", "deploy", "switch", C, None, profile=tools.profile)
    run_audit(head, tmp_path / "p", log, "confirmed", 0)
    head = al.record_head(al.Deployer("u@c"), "h", "deploy", "switch", B, A)
    run_audit(head, tmp_path / "p", log, "confirmed", 0)
    records, malformed = al.parse_records(
        "".join("%s\t%s\n" % (al.PREFIX, line) for line in log.read_text().splitlines())
    )
    assert malformed == 0 and [r.profile for r in records] == [tools.profile, None]
    # the facts show each record as the host wrote it
    written = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r.to_dict() for r in records] == written and "profile" not in written[1]


def test_credentials_never_reach_the_log():
    assert (
        al.without_credentials("git+https://user:tok@github.com/o/r?ref=main") == "git+https://github.com/o/r?ref=main"
    )
    assert al.without_credentials("path:/srv/infra?narHash=x") == "path:/srv/infra?narHash=x"
    assert al.without_credentials("github:o/r") == "github:o/r"


def test_a_long_value_is_cut_so_a_record_stays_one_write():
    head = al.record_head(al.Deployer(by="x" * 10000, flake="y" * 10000), "h" * 10000, "deploy", "switch", A, B)
    assert len(head) < 4096 - 200


@pytest.mark.parametrize(
    "status, recorded",
    [
        (Verdict.DONE.word, True),
        (Verdict.CONFIRMED.word, True),
        (Verdict.FAILED_RESTORED.word, True),
        (Verdict.ROLLED_BACK.word, True),
        ("noop", False),
        ("locked", False),
        ("stale", False),
        ("profile", False),
    ],
)
def test_the_transaction_records_the_outcomes_that_changed_the_host(tmp_path, status, recorded):
    t = tr.Transaction(
        path=B,
        action="switch",
        profile=str(tmp_path / "system"),
        work_dir=str(tmp_path / "w"),
        owner="o",
        audit_head=al.record_head(al.Deployer("u@c"), "h", "deploy", "switch", B, A),
    )
    script = tr.script(t).text
    preamble = script[: script.index("exec 9>>")]  # W=…, audit(), finish()
    log = tmp_path / "audit.log"
    preamble = preamble.replace(al.AUDIT_LOG, str(log))
    subprocess.run(["sh", "-c", preamble + "arc=0; finish %s" % status], check=True)
    assert log.exists() == recorded
    assert (tmp_path / "w" / "status").read_text() == status + "\n"
    if recorded:
        assert json.loads(log.read_text())["status"] == status


def test_the_record_vocabulary_is_the_transactions():
    assert set(al.RECORDED) == {
        Verdict.DONE.word,
        Verdict.CONFIRMED.word,
        Verdict.FAILED_RESTORED.word,
        Verdict.ROLLED_BACK.word,
    }
    assert set(al.KEPT) | set(al.UNDONE) == set(al.RECORDED)


def read_back(log, count):
    out = subprocess.run(
        ["sh", "-c", al.read_command(count, str(log)).text], stdout=subprocess.PIPE, universal_newlines=True, check=True
    ).stdout
    return al.parse_records(out)[0]


def test_the_log_rotates_once_it_holds_keep_records_and_keeps_at_least_the_last_keep(tmp_path):
    """Written past the cap by the real shell function: the live log never holds more than ``keep``
    records, the rotated one the ``keep`` before them, and a reader gets the last records across both."""
    profile, log = tmp_path / "system", tmp_path / "log" / "audit.log"
    (tmp_path / "system-7-link").symlink_to(A)
    profile.symlink_to("system-7-link")
    written = []
    for number in range(1, 11):
        path = "/nix/store/%s-nixos-system-h-%d" % ("%02d" % number * 16, number)
        script = al.append_function().then(
            argv(
                "audit",
                al.record_head(al.Deployer("u@c"), "h", "deploy", "switch", path, A),
                str(profile),
                str(log),
                3,
                "done",
                "0",
            )
        )
        subprocess.run(["sh", "-c", script.text], check=True)
        written.append(path)
        live = [json.loads(line)["path"] for line in log.read_text().splitlines()]
        rotated = log.parent / "audit.log.1"
        old = [json.loads(line)["path"] for line in rotated.read_text().splitlines()] if rotated.exists() else []
        assert 1 <= len(live) <= 3 and len(old) in (0, 3)
        assert (old + live)[-3:] == written[-3:] and old + live == written[-len(old + live) :]
        assert [r.path for r in read_back(log, 4)] == written[-4:]  # across the rotation
    assert sorted(p.name for p in log.parent.iterdir()) == ["audit.log", "audit.log.1"]  # no third file
    assert len(live) == 1 and len(old) == 3  # 10 = 3 + 3 + 3 + 1: three rotations
    assert [r.path for r in read_back(log, 100)] == written[-4:]  # what is left: at least the last 3


def test_a_reader_of_a_rotated_log_without_a_live_one_still_reads_it(tmp_path):
    """A rotation renames the log before the next record creates it again: meanwhile the reader finds
    only the rotated log, and reads it."""
    log = tmp_path / "audit.log"
    (tmp_path / "audit.log.1").write_text(json.dumps({"action": "switch", "status": "done", "path": A}) + "\n")
    assert [r.path for r in read_back(log, 10)] == [A]
    assert read_back(tmp_path / "nothing" / "audit.log", 10) == []


def test_keep_must_be_at_least_one_record():
    with pytest.raises(ValueError, match="audit_log_keep must be at least 1 record, not 0"):
        tr.arguments(
            tr.Transaction(
                path=B, action="switch", profile="/p", work_dir="/w", owner="o", audit_keep=0, audit_head="{"
            )
        )
    t = tr.Transaction(
        path=B,
        action="switch",
        profile="/p",
        work_dir="/w",
        owner="o",
        audit_keep=7,
        audit_head=al.record_head(al.Deployer("u@c"), "h", "deploy", "switch", B, A),
    )
    assert "audit_keep=7" in tr.arguments(t) and "audit_head=%s" % t.audit_head in tr.arguments(t)
    assert al.append_function().text in tr.script(t).text
