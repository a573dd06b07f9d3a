"""Command lines for a NixOS host's generations (module_utils._lifecycle.generation_commands): what each
action sets, and the probes of a toplevel and of its specialisations run by the real /bin/sh on
toplevels made in a temporary directory (names full of shell syntax among them)."""

import subprocess

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import generation_commands as gc

SYSTEM = "/nix/store/fdbsdqh96xcdfvxizjzr90dqy2v5d87k-nixos-system-web-2"
PROFILE = "/nix/var/nix/profiles/system"


def sh(command, cwd=None):
    return subprocess.run(
        ["/bin/sh", "-c", command.text],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        check=False,
    )


def toplevel(directory):
    """A directory shaped like a NixOS system toplevel: nixos-version and an executable switch-to-configuration."""
    (directory / "bin").mkdir(parents=True)
    (directory / "nixos-version").write_text("24.05\n")
    (directory / "bin" / "switch-to-configuration").write_text("#!/bin/sh\n")
    (directory / "bin" / "switch-to-configuration").chmod(0o755)
    return directory


def test_what_each_action_sets():
    assert [(a.value, a.sets_profile, a.sets_running) for a in gc.Action] == [
        ("switch", True, True),
        ("boot", True, False),
        ("test", False, True),
        ("dry-activate", False, False),
    ]
    assert gc.ACTIONS == ("switch", "boot", "test", "dry-activate")
    assert gc.SETS_PROFILE == ("switch", "boot") and gc.SETS_RUNNING == ("switch", "test")
    assert gc.CHANGING == ("switch", "boot", "test")
    assert gc.Action("boot") is gc.Action.BOOT and gc.Action.BOOT == "boot"


def test_the_command_lines():
    assert gc.set_profile_command(PROFILE, SYSTEM).text == "nix-env -p %s --set %s" % (PROFILE, SYSTEM)
    assert gc.switch_generation_command(PROFILE, 7).text == "nix-env -p %s --switch-generation 7" % PROFILE
    assert gc.activate_command(SYSTEM, "boot").text == SYSTEM + "/bin/switch-to-configuration boot"
    assert gc.dry_activate_command(SYSTEM).text == SYSTEM + "/bin/switch-to-configuration dry-activate"
    assert gc.diff_closures_command("/a", "/b").text == (
        "nix --extra-experimental-features nix-command store diff-closures /a /b"
    )
    assert gc.set_profile_command("/p q", "/x;y").text == "nix-env -p '/p q' --set '/x;y'"


@pytest.mark.parametrize("name", ["a b", "$(touch x)", "it's"])
def test_the_toplevel_probe_tells_missing_from_not_a_system(tmp_path, name):
    path = tmp_path / name
    assert sh(gc.is_toplevel_command(str(path)), tmp_path).returncode == 3  # missing
    path.mkdir()
    assert sh(gc.is_toplevel_command(str(path)), tmp_path).returncode == 2  # not a toplevel
    toplevel(path)
    assert sh(gc.is_toplevel_command(str(path)), tmp_path).returncode == 0
    (path / "bin" / "switch-to-configuration").chmod(0o644)
    assert sh(gc.is_toplevel_command(str(path)), tmp_path).returncode == 2  # not executable
    assert not (tmp_path / "x").exists()


@pytest.mark.host_tools
def test_a_toplevel_the_store_does_not_hold_as_valid_counts_as_missing(tmp_path):
    """A toplevel on disk that nix-store --check-validity does not know (a copy cut off half-way)."""
    path = toplevel(tmp_path / "system")
    assert sh(gc.is_toplevel_command(str(path))).returncode == 0
    assert sh(gc.is_valid_toplevel_command(str(path))).returncode == 3


def test_specialisation_names():
    for good in ("gpu", "no-gui_2", "v1.2"):
        gc.check_specialisation_name(good)
    for bad in ("", ".", "..", "a/b", "a b", "$(id)", "x\n", "../etc"):
        with pytest.raises(ValueError, match="is not a specialisation name"):
            gc.check_specialisation_name(bad)


def test_the_specialisation_probe_resolves_the_one_named_and_lists_all(tmp_path):
    system = toplevel(tmp_path / "system")
    gpu = toplevel(tmp_path / "gpu-system")
    (system / "specialisation").mkdir()
    (system / "specialisation" / "gpu").symlink_to(gpu)
    (system / "specialisation" / "broken").mkdir()  # no switch-to-configuration: not a toplevel
    assert sh(gc.specialisation_command(str(system), "gpu")).stdout == (
        "specialisation\t%s\nspecialisations\tbroken gpu \n" % gpu
    )
    assert sh(gc.specialisation_command(str(system), "broken")).stdout == (
        "specialisation\t\nspecialisations\tbroken gpu \n"
    )
    alone = toplevel(tmp_path / "alone")
    assert sh(gc.specialisation_command(str(alone), "gpu")).stdout == "specialisation\t\nspecialisations\t\n"


@pytest.mark.host_tools
def test_the_validity_test_wants_a_valid_store_path_not_only_files(tmp_path):
    valid = subprocess.run(
        ["nix-store", "--add", str(toplevel(tmp_path / "nixos-system-h-1"))],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    ).stdout.strip()
    files_only = toplevel(tmp_path / "cut-off")  # files on disk, no valid store path
    (tmp_path / "empty").mkdir()
    not_toplevel = subprocess.run(
        ["nix-store", "--add", str(tmp_path / "empty")], stdout=subprocess.PIPE, text=True, check=True
    ).stdout.strip()
    assert sh(gc.is_valid_toplevel_command(valid)).returncode == 0
    assert sh(gc.is_valid_toplevel_command(str(files_only))).returncode == 3
    assert sh(gc.is_toplevel_command(str(files_only))).returncode == 0  # the plain test looks at files only
    assert sh(gc.is_valid_toplevel_command(not_toplevel)).returncode == 2
    assert sh(gc.is_valid_toplevel_command(valid + "-gone")).returncode == 3
