"""NixOS's switch inhibitors: the probe, run by a real sh over real files, and the verdict."""
import subprocess

from ansible_collections.nixfleet.nixos.plugins.module_utils.switch_inhibitors import probe


class Answer:
    def __init__(self, proc):
        self.rc, self.stdout, self.stderr = proc.returncode, proc.stdout, proc.stderr


def run(op):
    proc = subprocess.run(["sh", "-c", op.command.text], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)
    return op.parse(Answer(proc))


def system(tmp_path, name, inhibitors=None):
    path = tmp_path / name
    path.mkdir()
    if inhibitors is not None:
        (path / "switch-inhibitors").write_text(inhibitors)
    return path


def test_different_lists_block_and_are_described(tmp_path):
    running = system(tmp_path, "old", "/nix/store/aaa-systemd-257\n")
    new = system(tmp_path, "new", "/nix/store/bbb-systemd-258\n")
    (tmp_path / "current").symlink_to(running)
    found = run(probe(str(new), running_link=str(tmp_path / "current")))
    assert found.blocks()
    assert found.describe() == "/nix/store/aaa-systemd-257 -> /nix/store/bbb-systemd-258"


def test_the_same_list_a_fresh_host_and_two_missing_files_do_not_block(tmp_path):
    running = system(tmp_path, "old", "x\n")
    same = system(tmp_path, "same", "x\n")
    (tmp_path / "current").symlink_to(running)
    assert not run(probe(str(same), running_link=str(tmp_path / "current"))).blocks()
    assert not run(probe(str(same), running_link=str(tmp_path / "nothing-runs"))).blocks()
    bare_old, bare_new = system(tmp_path, "bare-old"), system(tmp_path, "bare-new")
    (tmp_path / "bare-current").symlink_to(bare_old)
    assert not run(probe(str(bare_new), running_link=str(tmp_path / "bare-current"))).blocks()


def test_a_list_only_on_one_side_blocks(tmp_path):
    running = system(tmp_path, "old")
    new = system(tmp_path, "new", "systemd 258\n")
    (tmp_path / "current").symlink_to(running)
    assert run(probe(str(new), running_link=str(tmp_path / "current"))).blocks()


def test_a_system_not_on_the_host_is_judged_by_the_list_given(tmp_path):
    running = system(tmp_path, "old", "a\n")
    (tmp_path / "current").symlink_to(running)
    found = run(probe(str(tmp_path / "not-copied-yet"), running_link=str(tmp_path / "current")))
    assert found.new is None and not found.blocks()
    assert found.blocks("b\n") and not found.blocks("a\n")
