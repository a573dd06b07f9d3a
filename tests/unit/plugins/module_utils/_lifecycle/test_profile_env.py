"""Package profiles' names, paths and the profile.d snippet: hostile input is refused or carried
verbatim, and the snippet run by a real ``sh`` never runs what a path holds."""

import subprocess

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import profile_env as pe


@pytest.mark.parametrize(
    "name",
    [
        "x$(echo INJECTED >&2)",
        "../etc",
        "a/b",
        ".hidden",
        "-rf",
        "",
        "a b",
        "tools\n",
        "`id`",
        "x;y",
        "{{ lookup('pipe', 'id') }}",
        "é",
        "x" * 201,
    ],
)
def test_hostile_profile_names_are_refused(name):
    with pytest.raises(pe.ProfileError, match="profile name"):
        pe.check_profile_name(name)


@pytest.mark.parametrize("name", ["ops-tools", "tools_2.1", "a+b", "_x", "9"])
def test_plain_profile_names_pass(name):
    assert pe.check_profile_name(name) == name


@pytest.mark.parametrize(
    "path",
    [
        "relative/tools",
        "/nix/var/nix/profiles/../../../etc/cron.d/x",
        "/nix/var/nix/profiles/./tools",
        "//nix/tools",
        "/nix/var/nix/profiles/",
        "/nix/tools\nrm -rf /",
        "/nix/\x00tools",
    ],
)
def test_hostile_profile_paths_are_refused(path):
    with pytest.raises(pe.ProfileError, match="absolute, normalised"):
        pe.check_profile_path(path)


def test_the_profile_d_snippet_never_expands_the_path(tmp_path):
    marker = tmp_path / "INJECTED"
    hostile = "/nix/var/nix/profiles/x$(touch %s)`touch %s`${HOME}'\"y" % (marker, marker)
    script = tmp_path / "nix-profile.sh"
    script.write_text(pe.profile_d_script(hostile))
    proc = subprocess.run(
        ["sh", "-c", '. "$1"; printf "%s\\n" "$PATH"', "sh", str(script)],
        env={"PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        universal_newlines=True,
        check=True,
    )
    assert proc.stdout.split(":")[0] == hostile + "/bin"
    assert not marker.exists()
    # Sourced again (a second login shell in the same session): PATH does not grow.
    twice = subprocess.run(
        ["sh", "-c", '. "$1"; . "$1"; printf "%s\\n" "$PATH"', "sh", str(script)],
        env={"PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        universal_newlines=True,
        check=True,
    )
    assert twice.stdout.count(hostile) == 1


def test_the_environment_expression_interpolates_nothing():
    expression = pe.env_expression({"web-${builtins.currentTime}": ["path:/x${y}#packages.x86_64-linux.a${b}"]})
    assert '"web-\\${builtins.currentTime}"' in expression
    assert '"path:/x\\${y}"' in expression and '"a\\${b}"' in expression
    assert "${builtins" not in expression.replace("\\${", "")
