"""plugins/action/sops_decrypt_check.py on files sealed with the real age (tests/helpers/sops_files.py):
can a host's identity (read from the host, or given on the controller) open its secrets files."""

import json

import pytest

from action_harness import ActionShell, run_action, said

from sops_files import age_keygen, make_repo, write_sops_file

pytestmark = pytest.mark.host_tools
MARK = "nixfleet-target-file"


@pytest.fixture
def repo(tmp_path):
    return tmp_path, make_repo(tmp_path, ["web", "db"])


def test_the_hosts_key_opens_its_file_and_not_anothers(repo):
    root, _recipients = repo
    key = (root / "keys" / "web.txt").read_text()
    shell = ActionShell({"file probe": said(stdout="%s file 0 0 600\n%s" % (MARK, key))})
    ok = run_action(
        "sops_decrypt_check",
        {"files": ["secrets/web.yaml"], "base_dir": str(root)},
        shell,
        task_vars={"inventory_hostname": "web"},
    )
    assert not ok.get("failed"), ok
    assert ok["files"][0]["decryptable"] is True and ok["msg"] == "web can decrypt all 1 files"
    assert shell.performed == [("file probe", True)]  # the key file, read as root
    assert "AGE-SECRET-KEY" not in json.dumps(ok).upper()
    shell = ActionShell({"file probe": said(stdout="%s file 0 0 600\n%s" % (MARK, key))})
    bad = run_action(
        "sops_decrypt_check", {"files": ["secrets/web.yaml", "secrets/db.yaml"], "base_dir": str(root)}, shell
    )
    assert bad["failed"] is True and bad["msg"].startswith("web cannot decrypt: secrets/db.yaml (")
    assert [f["decryptable"] for f in bad["files"]] == [True, False]


def test_fail_on_error_false_warns(repo):
    root, _recipients = repo
    key = (root / "keys" / "web.txt").read_text()
    result = run_action(
        "sops_decrypt_check",
        {"files": [str(root / "secrets/db.yaml")], "identity": key, "fail_on_error": False},
        ActionShell(),
    )
    assert not result.get("failed") and len(result["warnings"]) == 1
    assert result["warnings"][0].startswith("web cannot decrypt: %s/secrets/db.yaml" % root)


def test_an_identity_given_on_the_controller_never_reaches_the_host(repo):
    root, recipients = repo
    shell = ActionShell()
    result = run_action(
        "sops_decrypt_check",
        {"files": ["secrets/db.yaml"], "base_dir": str(root), "identity": (root / "keys" / "db.txt").read_text()},
        shell,
    )
    assert not result.get("failed") and shell.performed == []
    assert result["recipients"] == [recipients["db"]]


def test_a_file_sealed_only_to_a_stranger_fails(tmp_path):
    mine = age_keygen(tmp_path / "mine.txt")
    stranger = age_keygen(tmp_path / "stranger.txt")
    write_sops_file(tmp_path / "s.yaml", [stranger])
    result = run_action(
        "sops_decrypt_check",
        {"files": [str(tmp_path / "s.yaml")], "identity": (tmp_path / "mine.txt").read_text()},
        ActionShell(),
    )
    assert result["failed"] is True and result["recipients"] == [mine]


@pytest.mark.parametrize(
    "content, message",
    [
        ("not: [yaml", "sops file %s is not valid YAML"),
        ("plain: value\n", "%s is not a sops-encrypted YAML/JSON file (no 'sops' metadata)"),
    ],
)
def test_a_file_that_is_not_a_sops_file_is_an_error(tmp_path, content, message):
    age_keygen(tmp_path / "k.txt")
    (tmp_path / "s.yaml").write_text(content)
    result = run_action(
        "sops_decrypt_check",
        {"files": [str(tmp_path / "s.yaml")], "identity": (tmp_path / "k.txt").read_text()},
        ActionShell(),
    )
    assert result["failed"] is True and message % (tmp_path / "s.yaml") in result["msg"]


def test_a_bad_identity_is_refused_without_quoting_it():
    result = run_action(
        "sops_decrypt_check", {"files": ["x.yaml"], "identity": "AGE-SECRET-KEY-1NOTAKEY"}, ActionShell()
    )
    assert result["failed"] is True and "NOTAKEY" not in result["msg"]
