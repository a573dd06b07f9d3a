"""plugins/action/nix_profile.py: a Nix profile on a host set to a store path (its packages diffed from
the references before and after), rolled back to a generation, its bin/ linked; check mode and --diff;
an unchanged profile changes nothing; bad names, paths and users fail before the host is asked. The host
answers each command by a needle of its text (tests/helpers/action_harness.py)."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generation_commands import NOTHING_TO_ACTIVATE
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction.protocol import Verdict

from action_harness import ActionShell, run_action, said
from activator_answers import launched

PROFILE = "/nix/var/nix/profiles/tools"
JQ16, JQ17, HTOP = ("/nix/store/%s-%s" % (c * 32, n) for c, n in (("a", "jq-1.6"), ("b", "jq-1.7"), ("c", "htop-3.3")))
OLD_ENV = "/nix/store/%s-nixfleet-profile" % ("d" * 32)
NEW_ENV = "/nix/store/%s-nixfleet-profile" % ("f" * 32)
MANIFEST = "/nix/store/%s-env-manifest.nix" % ("g" * 32)
PROBE = "nix-store -q --references"  # the probe and the references of a generation carry it
VALID = "--check-validity"


def probed(current=1, generations=((1, OLD_ENV),), references=(JQ16, MANIFEST)):
    lines = ["profile\ttools-%d-link" % current]
    lines += ["generation\ttools-%d-link\t%s\t100" % (n, p) for n, p in generations]
    lines += ["reference\t%s" % r for r in references]
    return said(0, "\n".join(lines) + "\n")


def test_a_profile_set_to_a_new_path_reports_its_packages_and_generation():
    shell = ActionShell(
        commands={PROBE: probed(), VALID: said(0), "--set": said(0, "tools-2-link\n")},
    )
    args = {"name": "tools", "path": NEW_ENV, "packages": [JQ17, HTOP, MANIFEST]}
    result = run_action("nix_profile", args, shell)
    assert not result.get("failed"), result
    assert (result["changed"], result["profile"], result["path"]) == (True, PROFILE, NEW_ENV)
    assert (result["previous_generation"], result["generation"], result["links"]) == (1, 2, [])
    assert result["packages"] == ["htop 3.3", "jq 1.7"]  # the manifest is no package
    assert result["package_changes"] == {"added": ["htop 3.3"], "removed": [], "changed": ["jq 1.6 -> 1.7"]}
    assert shell.names() == [PROBE, VALID, "--set"]
    assert shell.texts[-1] == "nix-env -p %s --set %s && readlink %s" % (PROFILE, NEW_ENV, PROFILE)
    assert shell.performed[0] == (PROBE, False) and shell.performed[-1] == ("--set", True)


def test_a_profile_already_on_the_path_changes_nothing():
    shell = ActionShell(commands={PROBE: probed(generations=((1, NEW_ENV),), references=(JQ17,))})
    result = run_action("nix_profile", {"name": "tools", "path": NEW_ENV, "packages": [JQ17]}, shell, diff=True)
    assert result["changed"] is False and "diff" not in result
    assert result["package_changes"] == {"added": [], "removed": [], "changed": []}
    assert shell.names() == [PROBE]


def test_check_mode_and_diff_say_what_would_change_and_change_nothing():
    shell = ActionShell(commands={PROBE: probed()})
    result = run_action(
        "nix_profile", {"name": "tools", "path": NEW_ENV, "packages": [JQ17]}, shell, check_mode=True, diff=True
    )
    assert result["changed"] is True and result["generation"] == 1
    assert result["diff"]["before_header"] == result["diff"]["after_header"] == "%s (packages)" % PROFILE
    assert "jq" in result["diff"]["before"] and "1.6" in result["diff"]["before"] and "1.7" in result["diff"]["after"]
    assert shell.names() == [PROBE]  # no copy, no set


def test_rollback_goes_to_the_generation_before_with_its_packages():
    shell = ActionShell(
        commands={
            PROBE: [probed(2, ((1, OLD_ENV), (2, NEW_ENV)), (JQ17, HTOP)), said(0, "reference\t%s\n" % JQ16)],
            "--switch-generation": said(0),
        }
    )
    result = run_action("nix_profile", {"name": "tools", "state": "rollback"}, shell)
    assert not result.get("failed"), result
    assert (result["changed"], result["path"], result["previous_generation"], result["generation"]) == (
        True,
        OLD_ENV,
        2,
        1,
    )
    assert result["package_changes"] == {"added": [], "removed": ["htop 3.3"], "changed": ["jq 1.7 -> 1.6"]}
    assert shell.texts[-1] == "nix-env -p %s --switch-generation 1" % PROFILE


def test_a_rollback_without_an_older_generation_is_named():
    shell = ActionShell(commands={PROBE: probed()})
    result = run_action("nix_profile", {"name": "tools", "state": "rollback"}, shell)
    assert result["failed"] is True
    assert "%s has no generation before the current one to roll back to (generations: 1)" % PROFILE in result["msg"]


def test_bin_links_are_reported_and_what_is_not_replaced_is_a_warning():
    shell = ActionShell(
        commands={
            PROBE: probed(generations=((1, NEW_ENV),), references=(JQ17,)),
            "ln -sfn": said(0, "linked /usr/local/bin/jq\nskipped /usr/local/bin/htop\n"),
        }
    )
    result = run_action(
        "nix_profile", {"name": "tools", "path": NEW_ENV, "packages": [JQ17], "bin_dir": "/usr/local/bin"}, shell
    )
    assert result["changed"] is True and result["links"] == ["linked /usr/local/bin/jq"]  # the profile was unchanged
    assert result["warnings"] == ["web: not replaced (not links into %s/bin): /usr/local/bin/htop" % PROFILE]


@pytest.mark.parametrize(
    "args, message",
    [
        ({"path": NEW_ENV}, "give name (the profile becomes /nix/var/nix/profiles/NAME) or profile (its path)"),
        ({"name": "../etc", "path": NEW_ENV}, "../etc"),
        ({"profile": "/nix/var/../etc/x", "path": NEW_ENV}, "profile"),
        (
            {"name": "tools", "path": NEW_ENV, "activate": True, "user": "root;reboot"},
            "user 'root;reboot' is not a user name",
        ),
    ],
)
def test_bad_names_paths_and_users_fail_before_the_host_is_asked(args, message):
    shell = ActionShell()
    result = run_action("nix_profile", args, shell)
    assert result["failed"] is True and message in result["msg"], result
    assert shell.performed == []


def test_present_needs_a_path():
    shell = ActionShell(commands={PROBE: probed()})
    result = run_action("nix_profile", {"name": "tools"}, shell)
    assert result["failed"] is True and "state=present needs path" in result["msg"]


def activated_host(output):
    """A host whose profile activation (deploy-rs' way, in one transaction) prints ``output``."""
    scripts = []

    def launch(operation):
        scripts.append(operation.command.text)
        return launched(0, Verdict.DONE.word, output=output)

    shell = ActionShell(
        {"probe": [probed(), probed(2, ((1, OLD_ENV), (2, NEW_ENV)), (JQ17,))], "launch": launch},
        {PROBE: probed(), VALID: said(0)},
    )
    return shell, scripts


def test_activate_sets_and_activates_the_profile_in_one_transaction_as_its_user():
    shell, scripts = activated_host("starting app\n")
    args = {"name": "tools", "path": NEW_ENV, "packages": [JQ17], "activate": True, "user": "alice"}
    result = run_action("nix_profile", dict(args, magic_rollback=False), shell)
    assert not result.get("failed"), result
    assert (result["changed"], result["generation"], result["activated"]) == (True, 2, True)
    assert result["confirmation"] == "not requested"
    assert " activates=deploy-rs " in scripts[0] and " run_as=alice " in scripts[0]
    assert " path=%s " % NEW_ENV in scripts[0] and " profile=%s " % PROFILE in scripts[0]
    assert "--set" not in shell.names()  # the transaction sets the profile itself


def test_a_profile_without_an_activation_script_is_set_and_says_it_activated_nothing():
    shell, scripts = activated_host(NOTHING_TO_ACTIVATE + "\n")
    args = {"name": "tools", "path": NEW_ENV, "packages": [JQ17], "activate": True, "magic_rollback": False}
    result = run_action("nix_profile", args, shell)
    assert (result["changed"], result["activated"]) == (True, False)
