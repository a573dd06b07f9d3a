import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes.flake_inventory import (
    attr_path,
    chunk_expression,
    hosts_from_metadata,
    listing_expression,
    nix_string,
    split_ssh_opts,
)


def test_split_ssh_opts():
    assert split_ssh_opts(["-p", "2222", "-o", "ConnectTimeout=5"]) == (2222, ["-o", "ConnectTimeout=5"])
    assert split_ssh_opts(["-p2200"]) == (2200, [])
    assert split_ssh_opts(["-o", "Port=23", "-A"]) == (23, ["-A"])
    assert split_ssh_opts(["-oPort=24"]) == (24, [])
    assert split_ssh_opts([]) == (None, [])


def test_precedence_colmena_then_deploy_rs_then_networking():
    data = {
        "configurations": {
            "both": {
                "error": False,
                "hostName": "both",
                "fqdn": "both.example",
                "system": "aarch64-linux",
                "deployment": {"targetHost": "10.0.0.1", "targetPort": 2201, "targetUser": "ops", "tags": ["a"]},
            },
            "dr": {"error": False, "hostName": "dr", "fqdn": None, "system": "x86_64-linux", "deployment": None},
            "plain": {"error": False, "hostName": "plain", "fqdn": "plain.example", "system": None, "deployment": None},
            "bad": {"error": True},
        },
        "nodes": {
            "both": {"hostname": "10.9.9.9", "sshUser": "other", "sshOpts": ["-p", "9"], "profiles": ["system"]},
            "dr": {
                "hostname": "10.0.0.2",
                "sshUser": "deploy",
                "sshOpts": ["-p", "2202", "-A"],
                "profiles": ["system"],
            },
            "solo": {"hostname": "10.0.0.3", "sshUser": None, "sshOpts": [], "profiles": []},
        },
    }
    hosts = {h.name: h for h in hosts_from_metadata(data)}
    both = hosts["both"]
    assert (both.host, both.port, both.user, both.tags, both.source) == ("10.0.0.1", 2201, "ops", ["a"], "colmena")
    assert both.system == "aarch64-linux"
    dr = hosts["dr"]
    assert (dr.host, dr.port, dr.user, dr.ssh_opts, dr.source) == ("10.0.0.2", 2202, "deploy", ["-A"], "deploy-rs")
    plain = hosts["plain"]
    assert (plain.host, plain.port, plain.user, plain.source) == ("plain.example", None, None, "networking")
    assert hosts["bad"].error and hosts["bad"].host is None
    solo = hosts["solo"]
    assert solo.attr == 'deploy.nodes."solo"' and solo.toplevel_attr == ""  # no system profile
    assert [h.name for h in hosts_from_metadata(data)] == ["bad", "both", "dr", "plain", "solo"]


@pytest.mark.parametrize(
    "node, user, become_user",
    [
        ({"sshUser": "deploy", "user": "root"}, "deploy", "root"),  # deploy-rs' own docs: ssh as deploy, sudo to root
        ({"sshUser": "deploy", "user": None}, "deploy", "root"),  # the profile's user defaults to root
        ({"sshUser": "root", "user": None}, "root", None),
        ({"sshUser": "deploy", "user": "deploy"}, "deploy", None),  # a profile of the ssh user's own
        ({"sshUser": "ops", "user": "app"}, "ops", "app"),
        ({"sshUser": None, "user": "app"}, "app", None),  # without sshUser, ssh logs in as the profile's user
        ({"sshUser": None, "user": None}, None, None),  # deploy-rs: the local user's name; Ansible's default
    ],
)
def test_deploy_rs_becomes_the_profile_user_when_ssh_user_differs(node, user, become_user):
    data = {"configurations": {}, "nodes": {"n": dict(node, hostname="10.0.0.9", sshOpts=[], profiles=["system"])}}
    host = hosts_from_metadata(data)[0]
    assert (host.user, host.become_user) == (user, become_user)


@pytest.mark.parametrize("target_user, become_user", [("deploy", "root"), ("root", None), (None, None)])
def test_colmena_becomes_root_when_target_user_is_not_root(target_user, become_user):
    deployment = {"targetHost": "10.0.0.8", "targetPort": None, "targetUser": target_user, "tags": []}
    data = {"configurations": {"c": {"error": False, "hostName": "c", "deployment": deployment}}, "nodes": {}}
    assert hosts_from_metadata(data)[0].become_user == become_user


def test_nix_string_escapes_interpolation_and_quotes():
    assert nix_string('a"b\\c${x}\n') == '"a\\"b\\\\c\\${x}\\n"'


@pytest.mark.parametrize("name", ['we"ird', "back\\slash", "x${builtins.abort 1}", "new\nline", ""])
def test_a_name_that_cannot_be_a_command_line_attribute_is_refused(name):
    with pytest.raises(ValueError, match="cannot be used as a flake attribute"):
        attr_path("nixosConfigurations", name)
    data = {"configurations": {name: {"error": False, "hostName": "h"}}, "nodes": {name: {"hostname": "10.0.0.9"}}}
    (host,) = hosts_from_metadata(data)
    assert "cannot be used as a flake attribute" in str(host.error) and host.toplevel_attr == ""


def test_ordinary_names_are_quoted_as_nix_prints_them():
    assert attr_path("nixosConfigurations", "web-01.example.org") == 'nixosConfigurations."web-01.example.org"'
    assert attr_path("deploy.nodes", "it's $HOME") == 'deploy.nodes."it\'s $HOME"'


def test_the_inventory_expressions_never_touch_toplevel():
    listing = listing_expression("path:/x", ["web-*"], first=3)
    assert "toplevel" not in listing and 'builtins.getFlake "path:/x"' in listing
    assert '"web-.*"' in listing and "count = if builtins.length all < 3 then builtins.length all else 3;" in listing
    chunk = chunk_expression("path:/x", ["web-01", 'it"s'])
    assert "toplevel" not in chunk and '[ "web-01" "it\\"s" ]' in chunk


def test_colmena_hive_nodes_are_configurations_under_their_own_attribute():
    deployment = {"targetHost": "hive-a", "targetPort": 2222, "targetUser": "root", "tags": ["db"]}
    data = {
        "configurations": {"both": {"error": False, "hostName": "both"}},
        "hive": {
            "hive-a": {"error": False, "deployment": deployment, "system": "x86_64-linux"},
            "both": {"error": False, "deployment": deployment},
        },
        "nodes": {},
    }
    both, hive_a = hosts_from_metadata(data)
    assert (hive_a.attr, hive_a.toplevel_attr) == (
        'colmenaHive.nodes."hive-a"',
        'colmenaHive.nodes."hive-a".config.system.build.toplevel',
    )
    assert (hive_a.host, hive_a.port, hive_a.tags, hive_a.source) == ("hive-a", 2222, ["db"], "colmena")
    assert both.attr == 'nixosConfigurations."both"'  # a flake offering both: nixosConfigurations wins


def test_a_configuration_without_colmenas_module_takes_where_it_lives_from_its_hive_node():
    """A flake with both nixosConfigurations.<n> (built) and colmenaHive.nodes.<n> (colmena's module,
    so deployment.*): the host is built from nixosConfigurations, addressed as its hive node says."""
    deployment = {
        "targetHost": "10.0.0.7",
        "targetPort": 22,
        "targetUser": "deploy",
        "tags": ["web"],
        "keys": ["app-env", "tls-key"],
    }
    data = {
        "configurations": {
            "web": {"error": False, "hostName": "web", "fqdn": "web.example.test"},
            "db": {"error": False, "hostName": "db"},
        },
        "hive": {
            "web": {"error": False, "deployment": deployment},
            "db": {"error": False, "deployment": dict(deployment, targetHost=None, tags=[])},
        },
        "nodes": {},
    }
    db, web = hosts_from_metadata(data)
    assert (web.attr, web.toplevel_attr) == (
        'nixosConfigurations."web"',
        'nixosConfigurations."web".config.system.build.toplevel',
    )
    assert (web.host, web.user, web.become_user, web.source) == ("10.0.0.7", "deploy", "root", "colmena")
    assert web.tags == ["web"]
    assert web.settings_vars["nixos_colmena_keys"] == ["app-env", "tls-key"]
    assert (db.host, db.source) == ("db", "colmena")  # no targetHost: still reachable by its name


def test_sops_nix_key_locations_are_read_from_the_configuration():
    data = {
        "configurations": {
            "web": {
                "error": False,
                "sops": {"keyFile": "/var/lib/sops-nix/key.txt", "sshKeyPaths": ["/etc/ssh/ssh_host_ed25519_key"]},
            },
            "db": {"error": False, "sops": {"keyFile": None, "sshKeyPaths": ["/persist/ssh/ssh_host_ed25519_key"]}},
            "plain": {"error": False},
        },
        "hive": {},
        "nodes": {},
    }
    db, plain, web = hosts_from_metadata(data)
    assert (web.sops_age_key_file, web.sops_age_ssh_key_paths) == (
        "/var/lib/sops-nix/key.txt",
        ["/etc/ssh/ssh_host_ed25519_key"],
    )
    assert (db.sops_age_key_file, db.sops_age_ssh_key_paths) == (None, ["/persist/ssh/ssh_host_ed25519_key"])
    assert (plain.sops_age_key_file, plain.sops_age_ssh_key_paths) == (None, None)  # no sops-nix
