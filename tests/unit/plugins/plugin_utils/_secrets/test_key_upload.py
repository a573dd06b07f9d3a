"""Uploading keys (plugin_utils._secrets.key_upload) with the real sh into a temporary directory: content made on
the controller first (a failing keyCommand changes nothing), files written only when they differ, check
mode writes nothing, and a post-activation key whose user the new system brings is reported in check
mode instead of failing."""

import os

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets.deployment_keys import UploadAt
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._secrets.key_upload import prepare, upload

from local_shell import LocalShell


def keys(tmp_path, **extra):
    return dict(
        {
            "a": {"text": "first secret", "destDir": str(tmp_path / "keys")},
            "b": {
                "keyCommand": ["printf", "%s", "made"],
                "destDir": str(tmp_path / "keys"),
                "permissions": "0640",
                "uploadAt": "post-activation",
            },
        },
        **extra,
    )


@pytest.mark.host_tools
def test_written_once_with_mode_then_unchanged(tmp_path):
    shell, ready = LocalShell(), prepare("h", keys(tmp_path))
    first = upload(shell, ready, UploadAt.PRE_ACTIVATION, check_mode=False)
    assert first.changed == [str(tmp_path / "keys" / "a")]
    assert (tmp_path / "keys" / "a").read_text() == "first secret"
    assert oct(os.stat(tmp_path / "keys" / "a").st_mode)[-3:] == "600"
    assert not (tmp_path / "keys" / "b").exists()  # post-activation: not yet
    after = upload(shell, ready, UploadAt.POST_ACTIVATION, check_mode=False)
    assert after.changed == [str(tmp_path / "keys" / "b")] and (tmp_path / "keys" / "b").read_text() == "made"
    assert oct(os.stat(tmp_path / "keys" / "b").st_mode)[-3:] == "640"
    again = upload(shell, ready, UploadAt.PRE_ACTIVATION, check_mode=False)
    assert again.changed == [] and "new" not in again.diffs[0]["after"]
    assert [n for n in os.listdir(tmp_path / "keys") if n.startswith(".")] == []  # no temporary file left


@pytest.mark.host_tools
def test_check_mode_writes_nothing_and_the_diff_has_no_secret(tmp_path):
    shell = LocalShell()
    upload(shell, prepare("h", keys(tmp_path)), UploadAt.PRE_ACTIVATION, check_mode=False)
    changed = keys(tmp_path, a={"text": "second secret", "destDir": str(tmp_path / "keys")})
    result = upload(shell, prepare("h", changed), UploadAt.PRE_ACTIVATION, check_mode=True)
    assert result.changed == [str(tmp_path / "keys" / "a")]
    assert (tmp_path / "keys" / "a").read_text() == "first secret"
    assert "content: new (13 bytes, not shown)" in result.diffs[0]["after"]
    assert "secret" not in repr(result.diffs)


def test_a_post_activation_key_for_a_user_to_come_is_reported_in_check_mode(tmp_path):
    spec = keys(
        tmp_path,
        b={"text": "x", "destDir": str(tmp_path / "keys"), "user": "nixfleet-not-yet", "uploadAt": "post-activation"},
    )
    ready = prepare("h", spec)
    result = upload(LocalShell(), ready, UploadAt.POST_ACTIVATION, check_mode=True)
    assert result.changed == [str(tmp_path / "keys" / "b")]
    with pytest.raises(NixError, match="user 'nixfleet-not-yet' does not exist on the host"):
        upload(LocalShell(), ready, UploadAt.POST_ACTIVATION, check_mode=False)


def test_a_failing_key_command_fails_before_anything_is_written(tmp_path):
    spec = keys(tmp_path, c={"keyCommand": ["sh", "-c", "echo sealed >&2; exit 2"]})
    with pytest.raises(NixError) as caught:
        prepare("h", spec)
    assert "key 'c' of host h: keyCommand failed; nothing was uploaded or switched" in str(caught.value)
    assert "sealed" in caught.value.stderr and not (tmp_path / "keys").exists()
