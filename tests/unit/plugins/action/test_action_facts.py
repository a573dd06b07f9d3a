"""plugins/action/facts.py: one unprivileged round trip read into ansible_facts.nixos."""

import json

from action_harness import ActionShell, run_action, said

OLD = "/nix/store/%s-nixos-system-web-1" % ("a" * 32)
NEW = "/nix/store/%s-nixos-system-web-2" % ("b" * 32)


def record(**fields):
    base = {
        "host": "web",
        "kind": "deploy",
        "action": "switch",
        "path": NEW,
        "previous": OLD,
        "status": "done",
        "rc": 0,
        "generation": 2,
        "time": 1700000100,
        "by": "alice@ctl",
    }
    base.update(fields)
    return "audit\t" + json.dumps(base)


def answer(*audit_lines):
    return said(
        stdout="\n".join(
            [
                "profile\tsystem-2-link",
                "generation\tsystem-1-link\t%s\t1700000000" % OLD,
                "generation\tsystem-2-link\t%s\t1700000100" % NEW,
                "running\t%s" % NEW,
                "booted\t%s" % OLD,
                "systemd\tyes",
                "nix_version\tnix-env (Nix) 2.18.1",
                "store_free\t2048",
            ]
            + list(audit_lines)
        )
        + "\n"
    )


def test_facts_from_one_unprivileged_probe():
    shell = ActionShell(commands={"readlink": answer(record(action="boot", path=OLD, previous=None), record())})
    result = run_action("facts", {}, shell)
    assert not result.get("failed"), result
    assert shell.performed == [("readlink", False)]  # read as the login user
    assert "tail -n 10" in shell.texts[0]  # records' default
    facts = result["ansible_facts"]["nixos"]
    assert result["changed"] is False
    assert facts["nix_store_free_bytes"] == 2048 * 1024
    assert [d["action"] for d in facts["deployments"]] == ["boot", "switch"]
    assert facts["running_system_deployed_by"]["by"] == "alice@ctl"
    assert facts["running_system_deployed_by"]["path"] == NEW
    assert "warnings" not in result


def test_malformed_audit_lines_are_a_warning_not_a_failure():
    shell = ActionShell(commands={"readlink": answer("audit\tnot json", 'audit\t{"status": "done"}', record())})
    result = run_action("facts", {"records": 3}, shell)
    assert "tail -n 3" in shell.texts[0]
    assert result["warnings"] == ["2 line(s) of /nix/var/nixfleet/audit.log are not audit records"]
    assert len(result["ansible_facts"]["nixos"]["deployments"]) == 1


def test_nothing_on_record_explains_a_hand_switched_system():
    shell = ActionShell(commands={"readlink": answer(record(path=OLD, previous=None))})
    facts = run_action("facts", {}, shell)["ansible_facts"]["nixos"]
    assert facts["running_system_deployed_by"] is None


def test_probe_failure_is_a_failed_task_naming_the_host():
    shell = ActionShell(commands={"readlink": said(rc=1, stderr="sh: permission denied\n")})
    result = run_action("facts", {}, shell)
    assert result["failed"] is True
    assert "reading the generations of /nix/var/nix/profiles/system failed" in result["msg"]
    assert "web" in result["msg"]


def test_a_relative_profile_is_refused_before_the_host_is_reached():
    shell = ActionShell()
    result = run_action("facts", {"profile": "profiles/system"}, shell)
    assert result["failed"] is True and "profile" in result["msg"]
    assert shell.performed == []
