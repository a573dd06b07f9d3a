"""plugins/action/sops_config_check.py on a repository made with the real age
(tests/helpers/sops_files.py): does .sops.yaml list the host's recipient for each of its files."""

import pytest

from action_harness import run_action

from sops_files import make_repo

pytestmark = pytest.mark.host_tools


@pytest.fixture
def repo(tmp_path):
    return tmp_path, make_repo(tmp_path, ["web", "db"])


def test_config_lists_every_hosts_recipient(repo):
    root, recipients = repo
    result = run_action(
        "sops_config_check",
        {"config": str(root / ".sops.yaml"), "files": ["secrets/web.yaml"], "recipients": [recipients["web"]]},
    )
    assert not result.get("failed"), result
    assert result["drift"] is False and result["coverage"][0]["covered"] is True
    assert result["msg"] == "web: every one of 1 secrets files lists its recipient"


def test_config_drift_is_named_and_fails_or_warns(repo):
    root, recipients = repo
    args = {"config": str(root / ".sops.yaml"), "files": ["secrets/db.yaml"], "recipients": [recipients["web"]]}
    failed = run_action("sops_config_check", args)
    assert failed["failed"] is True and failed["drift"] is True
    assert failed["msg"].startswith("web (recipient %s): .sops.yaml drift: " % recipients["web"])
    assert "secrets/db.yaml" in failed["msg"]
    warned = run_action("sops_config_check", dict(args, fail_on_drift=False))
    assert not warned.get("failed") and warned["warnings"] == [failed["msg"]]


def test_a_broken_config_is_named(tmp_path):
    (tmp_path / ".sops.yaml").write_text("creation_rules: 3\n")
    result = run_action(
        "sops_config_check", {"config": str(tmp_path / ".sops.yaml"), "files": ["a.yaml"], "recipients": ["age1x"]}
    )
    assert result["failed"] is True and result["msg"].startswith("%s: " % (tmp_path / ".sops.yaml"))
