"""deploy-rs and colmena settings → host vars or warnings (module_utils._flakes.tool_settings), and how the
inventory's merge applies them."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes.flake_inventory import hosts_from_metadata
from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes.tool_settings import colmena_vars, deploy_rs_vars


@pytest.mark.parametrize(
    "settings, host_vars",
    [
        ({"magicRollback": False}, {"nixos_deploy_magic_rollback": False}),
        ({"autoRollback": False}, {"nixos_deploy_auto_rollback": False}),
        ({"confirmTimeout": 60}, {"nixos_deploy_confirm_timeout": 60}),
        ({"activationTimeout": 240}, {"nixos_deploy_activation_timeout": 240}),
        # deploy-rs: fastConnection = false means "substitute on the destination"
        ({"fastConnection": False}, {"nixos_deploy_copy_mode": "substitute"}),
        ({"fastConnection": True}, {"nixos_deploy_copy_mode": "push"}),
        ({"remoteBuild": True}, {"nixos_deploy_build_on": "target"}),
        ({"tempPath": "/var/tmp/deploy/"}, {"nixos_deploy_temp_path": "/var/tmp/deploy"}),
        ({"sudo": "sudo -u"}, {}),  # deploy-rs' default is Ansible's
        ({"sudo": "/run/wrappers/bin/sudo -u"}, {"ansible_become_exe": "/run/wrappers/bin/sudo"}),
        ({"sudo": "sudo -E -u"}, {"ansible_become_flags": "-H -S -n -E"}),
        ({}, {}),
    ],
)
def test_deploy_rs_settings_become_host_vars(settings, host_vars):
    mapped = deploy_rs_vars("web-01", settings)
    assert (mapped.host_vars, mapped.warnings, mapped.errors) == (host_vars, [], [])


@pytest.mark.parametrize(
    "settings, wrong",
    [
        ({"confirmTimeout": "60"}, "confirmTimeout of host web-01 must be a positive number of seconds, not '60'"),
        ({"confirmTimeout": 0}, "confirmTimeout of host web-01 must be a positive number of seconds, not 0"),
        ({"magicRollback": "no"}, "magicRollback of host web-01 must be true or false, not 'no'"),
        ({"tempPath": "tmp/x"}, "tempPath of host web-01 must be an absolute path without '..', not 'tmp/x'"),
        ({"tempPath": "/tmp/../etc"}, "tempPath of host web-01 must be an absolute path"),
        ({"sudo": ["sudo"]}, "sudo of host web-01 must be a command line"),
    ],
)
def test_a_deploy_rs_setting_of_the_wrong_type_is_an_error_naming_host_and_setting(settings, wrong):
    mapped = deploy_rs_vars("web-01", settings)
    assert len(mapped.errors) == 1 and wrong in mapped.errors[0] and mapped.host_vars == {}


def test_deploy_rs_settings_without_a_host_var_are_warned_about():
    mapped = deploy_rs_vars("web-01", {"interactiveSudo": True, "sudo": "doas -u"})
    assert mapped.host_vars == {} and mapped.errors == []
    assert any("web-01" in w and "interactiveSudo" in w and "--ask-become-pass" in w for w in mapped.warnings)
    assert any("web-01" in w and "sudo = 'doas -u' is not mapped" in w for w in mapped.warnings)
    assert deploy_rs_vars("web-01", {"interactiveSudo": False}).warnings == []


def test_colmena_settings_at_their_defaults_change_nothing():
    # what colmena's own module gives every host that sets nothing
    defaults = {
        "buildOnTarget": False,
        "allowLocalDeployment": False,
        "replaceUnknownProfiles": True,
        "privilegeEscalationCommand": ["sudo", "-H", "--"],
        "sshOptions": [],
        "keys": [],
    }
    mapped = colmena_vars("db", defaults)
    assert (mapped.host_vars, mapped.ssh_opts, mapped.warnings, mapped.errors) == (
        {"nixos_deploy_build_on": "controller"},
        [],
        [],
        [],
    )


def test_colmena_settings_that_differ_are_honoured_or_warned_about():
    mapped = colmena_vars(
        "db",
        {
            "buildOnTarget": True,
            "sshOptions": ["-o", "Compression=yes"],
            "privilegeEscalationCommand": ["/run/wrappers/bin/sudo", "-H", "--"],
            "allowLocalDeployment": True,
            "replaceUnknownProfiles": False,
        },
    )
    assert mapped.host_vars == {"nixos_deploy_build_on": "target", "ansible_become_exe": "/run/wrappers/bin/sudo"}
    assert mapped.ssh_opts == ["-o", "Compression=yes"] and mapped.errors == []
    assert sorted(w.split(" = ")[0] for w in mapped.warnings) == [
        "host db: colmena allowLocalDeployment",
        "host db: colmena replaceUnknownProfiles",
    ]
    doas = colmena_vars("db", {"privilegeEscalationCommand": ["doas", "--"]})
    assert doas.host_vars == {} and "privilegeEscalationCommand = 'doas --' is not mapped" in doas.warnings[0]
    assert "sshOptions of host db must be a list of strings" in colmena_vars("db", {"sshOptions": "-A"}).errors[0]


def test_the_inventory_merge_puts_settings_on_the_host():
    data = {
        "configurations": {
            "col": {
                "error": False,
                "hostName": "col",
                "fqdn": None,
                "system": None,
                "deployment": {
                    "targetHost": "10.0.0.1",
                    "targetPort": None,
                    "targetUser": "root",
                    "tags": [],
                    "sshOptions": ["-p", "2022", "-A"],
                    "buildOnTarget": True,
                    "keys": [],
                },
            },
        },
        "nodes": {
            "dr": {
                "hostname": "10.0.0.2",
                "sshUser": "root",
                "sshOpts": [],
                "profiles": ["system"],
                "settings": {"magicRollback": False, "confirmTimeout": "soon"},
            },
        },
    }
    hosts = {h.name: h for h in hosts_from_metadata(data)}
    col = hosts["col"]
    assert (col.port, col.ssh_opts, col.settings_vars) == (2022, ["-A"], {"nixos_deploy_build_on": "target"})
    dr = hosts["dr"]
    assert dr.settings_vars == {"nixos_deploy_magic_rollback": False}
    assert "deploy-rs setting confirmTimeout of host dr" in str(dr.settings_error) and dr.error is None
