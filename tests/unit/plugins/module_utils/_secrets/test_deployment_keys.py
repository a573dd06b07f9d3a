"""colmena's deployment.keys: checking a host's keys, deciding what to write, and the diff without the secret
(module_utils._secrets.deployment_keys)."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets import deployment_keys as dk
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.target_file import FileState
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli


def test_colmena_defaults_apply_to_unset_options():
    (key,) = dk.parse_keys("db", {"token": {"text": "s3cret"}})
    assert (key.name, key.path, key.user, key.group, key.mode, key.upload_at, key.source) == (
        "token",
        "/run/keys/token",
        "root",
        "root",
        0o600,
        dk.UploadAt.PRE_ACTIVATION,
        "text",
    )


def test_every_option_is_read():
    (key,) = dk.parse_keys(
        "db",
        {
            "k": {
                "keyCommand": ["pass", "show", "db"],
                "name": "db.env",
                "destDir": "/var/keys",
                "user": "postgres",
                "group": "keys",
                "permissions": "0640",
                "uploadAt": "post-activation",
                "path": "/ignored",
            }
        },
    )
    assert (key.name, key.path, key.user, key.group, key.mode, key.upload_at, key.value) == (
        "db.env",
        "/var/keys/db.env",
        "postgres",
        "keys",
        0o640,
        dk.UploadAt.POST_ACTIVATION,
        ["pass", "show", "db"],
    )


@pytest.mark.parametrize(
    "spec, wrong",
    [
        ({}, "must set exactly one of text, keyFile and keyCommand (it sets none)"),
        (
            {"text": "a", "keyFile": "/k"},
            "must set exactly one of text, keyFile and keyCommand (it sets text, keyFile)",
        ),
        ({"keyFile": "relative/key"}, "keyFile must be an absolute path on the controller"),
        ({"keyCommand": "pass show db"}, "keyCommand must be a non-empty list of strings"),
        ({"text": "a", "name": "../../etc/shadow"}, "name '../../etc/shadow' is not a file name"),
        ({"text": "a", "name": ".."}, "name '..' is not a file name"),
        ({"text": "a", "name": "db.env\n"}, "name 'db.env\\n' is not a file name"),
        ({"text": "a", "destDir": "/run/keys/../../etc"}, "give an absolute, normalised path"),
        ({"text": "a", "destDir": "keys"}, "give an absolute, normalised path"),
        ({"text": "a", "user": "root; rm -rf /"}, "user 'root; rm -rf /' is not a user or group name"),
        ({"text": "a", "group": "$(id)"}, "group '$(id)' is not a user or group name"),
        ({"text": "a", "permissions": "rw-------"}, "permissions: mode 'rw-------' is not an octal permission"),
        ({"text": "a", "uploadAt": "later"}, "uploadAt must be pre-activation or post-activation, not 'later'"),
        ({"text": "a", "owner": "x"}, "has unknown options owner"),
        ("text", "is not an attribute set of key options"),
    ],
)
def test_a_wrong_key_is_an_error_naming_host_and_key(spec, wrong):
    with pytest.raises(dk.KeySpecError) as caught:
        dk.parse_keys("db", {"token": spec})
    assert "key 'token' of host db" in str(caught.value) and wrong in str(caught.value)


def test_two_keys_for_one_path_are_an_error():
    with pytest.raises(dk.KeySpecError, match="keys 'a' and 'b' of host db both write /run/keys/x"):
        dk.parse_keys("db", {"a": {"text": "1", "name": "x"}, "b": {"text": "2", "name": "x"}})


def test_plan_writes_only_what_differs():
    (key,) = dk.parse_keys("db", {"t": {"text": "s", "permissions": "0640"}})
    same = FileState("file", 0, 0, 0o640, "s")
    assert dk.plan(same, key, "s", 0, 0) is None
    assert dk.plan(FileState("absent"), key, "s", 0, 0) == "/run/keys/t does not exist"
    assert dk.plan(FileState("file", 0, 0, 0o640, "old"), key, "s", 0, 0) == "/run/keys/t: its content differs"
    assert dk.plan(FileState("file", 1000, 0, 0o644, "s"), key, "s", 0, 0) == (
        "/run/keys/t: it is owned by 1000:0, not root:root, its mode is 0644, not 0640"
    )
    with pytest.raises(dk.KeySpecError, match="not a regular file"):
        dk.plan(FileState("link", target="/etc/shadow"), key, "s", 0, 0)


def test_describe_never_shows_the_content():
    (key,) = dk.parse_keys("db", {"t": {"text": "hunter2"}})
    text = dk.describe(key, FileState("file", 0, 0, 0o600, "hunter2"), "new")
    assert text == "path: /run/keys/t\nowner: 0:0\nmode: 0600\ncontent: new (7 bytes, not shown)\n"
    assert dk.describe(key, FileState("absent"), "new") == ""


@pytest.mark.host_tools
def test_the_flake_expression_reads_keys_without_copying_key_files(tmp_path):
    """Evaluated by the real nix: defaults are not invented here (parse_keys applies them), a keyFile
    path literal stays the path string, and hosts without deployment get no keys."""
    key_file = tmp_path / "k"
    key_file.write_text("from a file")
    (tmp_path / "flake.nix").write_text(
        """{ outputs = { self }: { nixosConfigurations = {
      a = { config.deployment.keys = { t = { text = "x"; uploadAt = "post-activation"; };
                                       f = { keyFile = %s; path = "/run/keys/f"; }; }; };
      b = { config = { }; };
    }; }; }"""
        % key_file
    )
    expression = dk.flake_keys_expression(
        {"a": ("path:%s" % tmp_path, 'nixosConfigurations."a"'), "b": ("path:%s" % tmp_path, 'nixosConfigurations."b"')}
    )
    out = NixCli().eval_expr_json(expression)  # the collection's own nix command line (features on)
    assert out == {
        "a": {"t": {"text": "x", "uploadAt": "post-activation", "keyFile": None}, "f": {"keyFile": str(key_file)}},
        "b": {},
    }
    assert dk.parse_keys("a", out["a"])[0].value == str(key_file)
