"""NixOS's switch inhibitors: the probe lines, printed by a real sh from real files, and the verdict."""

import subprocess

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.switch_inhibitors import lines_command, read


def printed(path, running_link):
    return subprocess.run(
        ["sh", "-c", lines_command(str(path), running_link=str(running_link)).text],
        stdout=subprocess.PIPE,
        universal_newlines=True,
        check=True,
    ).stdout


def system(tmp_path, name, inhibitors=None):
    path = tmp_path / name
    path.mkdir()
    if inhibitors is not None:
        (path / "switch-inhibitors").write_text(inhibitors)
    return path


def running(tmp_path, system_path):
    link = tmp_path / "current"
    link.symlink_to(system_path)
    return link


def test_different_lists_block_and_are_described(tmp_path):
    link = running(tmp_path, system(tmp_path, "old", "/nix/store/aaa-systemd-257\n/nix/store/ccc-dbus\n"))
    new = system(tmp_path, "new", "/nix/store/bbb-systemd-258\n/nix/store/ccc-dbus\n")
    found = read(printed(new, link), new_present=True)
    assert found.block
    assert found.describe() == (
        "/nix/store/aaa-systemd-257 /nix/store/ccc-dbus -> /nix/store/bbb-systemd-258 /nix/store/ccc-dbus"
    )


def test_the_same_list_and_two_missing_files_do_not_block(tmp_path):
    link = running(tmp_path, system(tmp_path, "old", "x\n"))
    assert not read(printed(system(tmp_path, "same", "x"), link), new_present=True).block
    bare = tmp_path / "bare"
    bare.mkdir()
    bare_link = running(bare, system(bare, "old"))
    assert not read(printed(system(bare, "new"), bare_link), new_present=True).block


def test_a_list_on_one_side_only_blocks(tmp_path):
    link = running(tmp_path, system(tmp_path, "old"))
    found = read(printed(system(tmp_path, "new", "systemd 258\n"), link), new_present=True)
    assert found.block and found.describe() == "(none) -> systemd 258"


def test_a_system_not_on_the_host_is_judged_by_the_list_given(tmp_path):
    link = running(tmp_path, system(tmp_path, "old", "a\n"))
    output = printed(tmp_path / "not-copied-yet", link)
    assert read(output, new_present=False).new is None and not read(output, new_present=False).block
    assert read(output, new_present=False, new_elsewhere="b\n").block
    assert not read(output, new_present=False, new_elsewhere="a\n").block
