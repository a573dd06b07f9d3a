"""split_warnings (tests/helpers/warning_lines.py): which warnings the no-warnings test fails on and
which it may report as a dependency's, on lines Ansible really printed."""

from pathlib import Path

from warning_lines import DependencyWarning, split_warnings

ROOT = Path(__file__).resolve().parents[3]
# ansible-core 2.19.14 with cryptography 51.0.1, on stderr of every Ansible command.
DSA = (
    "/srv/x/.venv/lib/python3.11/site-packages/ansible/_internal/_ssh/_ssh_agent.py:18: "
    "CryptographyDeprecationWarning: DSA is deprecated and support will be removed in a future release. "
    "Use a more modern signature algorithm.\n"
    "  from cryptography.hazmat.primitives.asymmetric.dsa import (\n"
)
PLAY = "PLAY [Deploy] ******\n\nTASK [Gathering Facts] ****\nok: [node01]\n"


def test_a_dependency_python_warning_is_theirs_by_name():
    ours, theirs = split_warnings(PLAY + DSA + PLAY, str(ROOT))
    assert ours == []
    assert theirs == [
        DependencyWarning(
            "CryptographyDeprecationWarning",
            "ansible/_internal/_ssh/_ssh_agent.py:18",
            "DSA is deprecated and support will be removed in a future release. Use a more modern signature algorithm.",
        )
    ]
    assert str(theirs[0]).startswith("CryptographyDeprecationWarning from ansible/_internal/_ssh/_ssh_agent.py:18")


def test_a_dependency_installed_in_a_venv_inside_the_checkout_is_still_theirs():
    line = (
        "%s/.venv-ansible-core-2.21.5/lib/python3.14/site-packages/ansible/_internal/_ssh/_ssh_agent.py:18: "
        "CryptographyDeprecationWarning: DSA is deprecated" % ROOT
    )
    ours, theirs = split_warnings(line + "\n  from cryptography import x\n", str(ROOT))
    assert ours == [] and [w.origin for w in theirs] == ["ansible/_internal/_ssh/_ssh_agent.py:18"]


def test_ansible_warnings_are_ours():
    out = (
        PLAY
        + "[WARNING]: Found variable using reserved name: finished\n"
        + "[DEPRECATION WARNING]: Passing `warnings` to `exit_json` is deprecated.\n"
        + DSA
    )
    ours, theirs = split_warnings(out, str(ROOT))
    assert ours == [
        "[WARNING]: Found variable using reserved name: finished",
        "[DEPRECATION WARNING]: Passing `warnings` to `exit_json` is deprecated.",
    ]
    assert [w.category for w in theirs] == ["CryptographyDeprecationWarning"]


def test_a_python_warning_raised_in_the_collection_is_ours():
    line = "%s/plugins/action/build.py:40: DeprecationWarning: datetime.utcnow() is deprecated" % ROOT
    ours, theirs = split_warnings(PLAY + line + "\n  now = datetime.utcnow()\n", str(ROOT))
    assert ours == [line] and theirs == []


def test_only_the_echoed_source_line_is_skipped():
    out = DSA + "  [WARNING]: indented but Ansible's\n"
    ours, theirs = split_warnings(DSA.splitlines()[0] + "\n" + "  source\n" + out, str(ROOT))
    assert ours == ["  [WARNING]: indented but Ansible's"] and len(theirs) == 2
