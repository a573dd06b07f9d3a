"""deploy-rs' activation of a profile besides system (plugin_utils.profile_activation), with the real sh
and the real nix-env on a profile in a temporary directory: PROFILE is set, a failure rolls the profile
back and activates the previous generation again, or (auto rollback off) leaves it."""
import subprocess

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils.profile_activation import activate

from local_shell import LocalShell


def store_path(tmp_path, name, activate_script):
    """A store path (nix-store --add) with a deploy-rs-activate script, or none."""
    directory = tmp_path / name
    (directory / "bin").mkdir(parents=True)
    if activate_script is not None:
        script = directory / "deploy-rs-activate"
        script.write_text("#!/bin/sh\n" + activate_script)
        script.chmod(0o755)
    return subprocess.run(["nix-store", "--add", str(directory)], stdout=subprocess.PIPE, universal_newlines=True,
                          check=True).stdout.strip()


def set_profile(profile, path):
    subprocess.run(["nix-env", "-p", str(profile), "--set", path], check=True, stderr=subprocess.DEVNULL)


@pytest.fixture
def paths(tmp_path):
    marker = tmp_path / "activated"
    return marker, {
        "good": store_path(tmp_path, "good", 'echo "good $PROFILE" > %s\n' % marker),
        "bad": store_path(tmp_path, "bad", 'echo "bad $PROFILE" > %s; echo "cannot start" >&2; exit 3\n' % marker),
        "plain": store_path(tmp_path, "plain", None),
    }


def test_the_activation_runs_with_profile_set(tmp_path, paths):
    marker, made = paths
    profile = tmp_path / "profiles" / "app"
    profile.parent.mkdir()
    set_profile(profile, made["good"])
    assert activate(LocalShell(), str(profile), None) is True
    assert marker.read_text() == "good %s\n" % profile


def test_a_profile_without_an_activation_script_is_only_set(tmp_path, paths):
    profile = tmp_path / "app"
    set_profile(profile, paths[1]["plain"])
    assert activate(LocalShell(), str(profile), None) is False


def test_a_failed_activation_goes_back_to_the_previous_generation_and_activates_it(tmp_path, paths):
    marker, made = paths
    profile = tmp_path / "app"
    set_profile(profile, made["good"])
    set_profile(profile, made["bad"])
    with pytest.raises(NixError) as caught:
        activate(LocalShell(), str(profile), 1)
    assert "activation of %s failed (exit code 3)" % profile in str(caught.value)
    assert "rolled back to generation 1 and activated it again" in str(caught.value)
    assert caught.value.rolled_back and "cannot start" in caught.value.stderr
    assert profile.resolve().name == made["good"].rsplit("/", 1)[1]
    assert marker.read_text() == "good %s\n" % profile  # the previous generation's activation ran again


def test_without_auto_rollback_the_failed_generation_stays(tmp_path, paths):
    marker, made = paths
    profile = tmp_path / "app"
    set_profile(profile, made["good"])
    set_profile(profile, made["bad"])
    with pytest.raises(NixError, match="left as it is"):
        activate(LocalShell(), str(profile), 1, auto_rollback=False)
    assert profile.resolve().name == made["bad"].rsplit("/", 1)[1]
    assert marker.read_text() == "bad %s\n" % profile
