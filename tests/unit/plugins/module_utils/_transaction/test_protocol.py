"""The transaction's protocol (module_utils._transaction.protocol): one type per answer, every verdict
and deletion told apart by its word and its exit code, and what each one means for the host."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction.protocol import (
    RC_TIMED_OUT,
    Deletion,
    Verdict,
    words,
)


def test_words_and_exit_codes_tell_the_verdicts_apart():
    assert len({v.word for v in Verdict}) == len(Verdict)
    codes = [v.exit_code for v in Verdict if v.exit_code is not None]
    assert len(set(codes)) == len(codes) and codes == [75, 76, 77, 78, 79]
    # none of them is an activation's own exit code the controller reads (0, 4: some units failed, timeout's 124)
    assert not {0, 1, 4, RC_TIMED_OUT} & set(codes)
    for verdict in Verdict:
        assert Verdict.read(verdict.word) is verdict
        assert verdict.exit_code is None or Verdict.of_exit_code(verdict.exit_code) is verdict
    assert Verdict.read("") is Verdict.PENDING and Verdict.read("done\n") is Verdict.DONE
    assert Verdict.read("something else") is None and Verdict.of_exit_code(1) is None
    with pytest.raises(ValueError, match="DONE has no exit code of its own"):
        assert Verdict.DONE.code is None  # (never reached: the property raises)


def test_what_each_verdict_means_for_the_host():
    assert words(audited=True) == ("failed-restored", "done", "confirmed", "rolled-back")
    assert words(audited=True, kept=True) == ("done", "confirmed")
    assert words(audited=True, undone=True) == ("failed-restored", "rolled-back")
    for verdict in Verdict:  # kept or undone: the host changed, so it is on record; never both
        assert not (verdict.kept and verdict.undone)
        assert verdict.audited == (verdict.kept or verdict.undone)


def test_the_users_message_names_the_holder_or_says_it_is_unknown():
    assert (
        Verdict.LOCKED.explain("alice@ctl pid 7", lock="/l", wait=3)
        == "another deploy holds the lock /l (waited 3s): alice@ctl pid 7"
    )
    assert Verdict.LOCKED.explain(None, lock="/l", wait=3).endswith(": unknown holder")
    assert "(it is now empty, it was generation 4)" in Verdict.STALE.explain("", generation=4)


def test_the_confirmations_exit_codes():
    assert [(d, d.exit_code) for d in Deletion if d.exit_code is not None] == [
        (Deletion.DELETED, 0),
        (Deletion.ABSENT, 3),
        (Deletion.REFUSED, 4),
        (Deletion.NO_CONNECTION, 255),
    ]
    assert Deletion.of_exit_code(1) is Deletion.FAILED and Deletion.of_exit_code(3) is Deletion.ABSENT
    assert [d for d in Deletion if d.reached] == [Deletion.DELETED, Deletion.ABSENT]
