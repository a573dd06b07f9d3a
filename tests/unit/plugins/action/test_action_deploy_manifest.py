"""plugins/action/deploy_manifest.py: the manifest file on the controller (written once, unchanged
the second time, nothing written in check mode or on bad input)."""

import json
import os

import pytest

from action_harness import run_action

WEB = "/nix/store/0c9v2a1n4kqz0q4m2yq3d7q4wq6w9s2x-nixos-system-web-24.05"
DB = "/nix/store/1c9v2a1n4kqz0q4m2yq3d7q4wq6w9s2x-nixos-system-db-24.05"
WEB_DRV = "/nix/store/2c9v2a1n4kqz0q4m2yq3d7q4wq6w9s2x-nixos-system-web-24.05.drv"
REV = "0123456789abcdef0123456789abcdef01234567"
FLAKE = "git+file:///srv/fleet?ref=main&rev=%s" % REV


def test_written_with_the_flake_its_rev_and_the_drv_paths_then_unchanged(tmp_path):
    dest = str(tmp_path / "manifest.json")
    args = {
        "dest": dest,
        "paths": {"web": WEB, "db": DB},
        "drv_paths": {"web": WEB_DRV},
        "cache": "file:///srv/cache",
        "flake": FLAKE,
    }
    first = run_action("deploy_manifest", args)
    assert not first.get("failed"), first
    assert first["changed"] is True and first["hosts"] == ["db", "web"] and first["flake"] == FLAKE
    data = json.loads(open(dest).read())
    assert data["format"] == "nixfleet-manifest" and data["version"] == 1
    assert data["flake"] == FLAKE and data["rev"] == REV and data["cache"] == "file:///srv/cache"
    assert data["hosts"]["web"] == {"path": WEB, "drv_path": WEB_DRV}
    assert data["hosts"]["db"]["path"] == DB and data["hosts"]["db"].get("drv_path") is None
    assert oct(os.stat(dest).st_mode & 0o777) == "0o644"
    second = run_action("deploy_manifest", args)
    assert second["changed"] is False
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]  # no temporary file left


def test_check_mode_with_diff_writes_nothing(tmp_path):
    dest = tmp_path / "manifest.json"
    result = run_action("deploy_manifest", {"dest": str(dest), "paths": {"web": WEB}}, check_mode=True, diff=True)
    assert result["changed"] is True and not dest.exists()
    assert result["diff"]["before"] == "" and json.loads(result["diff"]["after"])["hosts"]["web"]["path"] == WEB


def test_the_flake_comes_from_the_hosts_when_they_share_one(tmp_path):
    hostvars = {"web": {"nixos_flake": FLAKE}, "db": {"nixos_flake": FLAKE}}
    shared = run_action(
        "deploy_manifest",
        {"dest": str(tmp_path / "a.json"), "paths": {"web": WEB, "db": DB}},
        task_vars={"hostvars": hostvars},
    )
    assert shared["flake"] == FLAKE
    assert json.loads((tmp_path / "a.json").read_text())["rev"] == REV
    hostvars["db"]["nixos_flake"] = "path:/srv/other"
    mixed = run_action(
        "deploy_manifest",
        {"dest": str(tmp_path / "b.json"), "paths": {"web": WEB, "db": DB}},
        task_vars={"hostvars": hostvars},
    )
    assert mixed["flake"] == ""


@pytest.mark.parametrize(
    "args, message",
    [
        ({"paths": {"web": "/etc/passwd"}}, "paths"),
        ({"paths": {"web": WEB}, "drv_paths": {"web": "/tmp/x.drv"}}, "drv_paths"),
        ({"paths": {"web": WEB}, "cache": "ftp://cache"}, "is not a store URL Nix understands"),
        ({"paths": {}}, "no host was built: no manifest was written"),
    ],
)
def test_bad_input_writes_no_manifest(tmp_path, args, message):
    dest = tmp_path / "manifest.json"
    dest.write_text("old\n")
    result = run_action("deploy_manifest", dict(args, dest=str(dest)))
    assert result["failed"] is True and message in result["msg"]
    assert "no manifest was written" in result["msg"]
    assert dest.read_text() == "old\n"


def test_a_destination_in_a_missing_directory_is_a_clear_error(tmp_path):
    dest = tmp_path / "missing" / "m.json"
    result = run_action("deploy_manifest", {"dest": str(dest), "paths": {"web": WEB}})
    assert result["failed"] is True and "writing the manifest %s failed" % dest in result["msg"], result
    assert not (tmp_path / "missing").exists()
