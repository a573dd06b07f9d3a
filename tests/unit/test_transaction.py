import subprocess
from typing import Any, Dict

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils import transaction as tr
from ansible_collections.nixfleet.nixos.plugins.module_utils.shell import raw

P = "/nix/store/fdbsdqh96xcdfvxizjzr90dqy2v5d87k-nixos-system-web-2"
PREV = "/nix/store/vsp9a6ydyqvbnv7majfxkyl0vjdjwlxq-nixos-system-web-1"


def tx(**kw):
    base: Dict[str, Any] = dict(
        path=P, action="switch", profile="/nix/var/nix/profiles/system", work_dir="/run/nixfleet/abc",
        owner="me@ctl pid 1, deploying it's ${HOME} \"quoted\"", prev_generation=3, prev_profile_path=PREV,
        prev_running=PREV)
    base.update(kw)
    return tr.Transaction(**base)


VARIANTS = [
    tx(),
    tx(confirm_timeout=30),
    tx(action="test", confirm_timeout=5),
    tx(action="boot"),
    tx(prev_generation=None, prev_profile_path=None, prev_running=None),
    tx(to_generation=2, confirm_timeout=10),
]


@pytest.mark.parametrize("t", VARIANTS)
def test_script_and_launcher_are_valid_sh(t):
    for text in (tr.script(t).text, tr.launch_command(t, systemd=False, unit="u").text, tr.launch_command(t, True, "u").text):
        check = subprocess.run(["sh", "-n", "-c", text], stderr=subprocess.PIPE, universal_newlines=True, check=False)
        assert check.returncode == 0, check.stderr


def test_expected_link():
    assert tx().expected_link() == "system-3-link"
    assert tx(prev_generation=None).expected_link() == ""
    assert tx(profile="/nix/var/nix/profiles/per-user/root/tools", prev_generation=7).expected_link() == "tools-7-link"


def test_watchdog_only_when_asked():
    assert tx(confirm_timeout=30).canary in tr.script(tx(confirm_timeout=30)).text
    assert "canary" not in tr.script(tx()).text
    assert "i -lt 150" in tr.script(tx(confirm_timeout=30)).text  # 30 s in 0.2 s ticks


def test_what_each_action_touches():
    boot = tr.script(tx(action="boot")).text
    assert "/run/current-system" not in boot and "nix-env -p /nix/var/nix/profiles/system --set" in boot
    test = tr.script(tx(action="test")).text
    assert "--set" not in test and "/run/current-system" in test
    back = tr.script(tx(to_generation=2)).text
    assert "--switch-generation 2" in back and "--delete-generations" not in back
    assert "--delete-generations" in tr.script(tx()).text


def test_activation_never_inherits_the_lock():
    script = tr.script(tx()).text
    assert "exec 9>>/nix/var/nix/nixfleet-deploy.lock" in script
    runs = [line for line in script.splitlines() if "/bin/switch-to-configuration" in line]
    assert runs and all("9>&-" in line for line in runs)


def test_launchers():
    on_systemd = tr.launch_command(tx(), systemd=True, unit="nixfleet-x").text
    assert on_systemd.startswith("mkdir -p /run/nixfleet/abc && printf")
    # systemd would expand ${...} in the unit's command line: the script goes there as a file.
    run = on_systemd[on_systemd.index("systemd-run"):on_systemd.index(" && while")]
    assert run == ("systemd-run -E LOCALE_ARCHIVE -E NIXOS_INSTALL_BOOTLOADER --collect --no-ask-password --quiet "
                   "--unit=nixfleet-x sh /run/nixfleet/abc/script")
    assert ">/run/nixfleet/abc/script && systemd-run" in on_systemd
    assert "setsid sh -c" in tr.launch_command(tx(), systemd=False, unit="u").text


def test_launch_prints_the_verdict_after_the_activation_output(tmp_path):
    """The state lines go after the activation's output and are split off again; the verdict is on
    disk before the exit code, so the launcher never reads an exit code without it."""
    t = tx(work_dir=str(tmp_path / "w"))
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "out").write_text("activated node01\n")
    (tmp_path / "w" / "status").write_text("failed-restored\n")
    (tmp_path / "w" / "holder").write_text("root@ctl pid 1\n")
    (tmp_path / "w" / "rc").write_text("1\n")
    wait_and_report = tr.launch_command(t, systemd=False, unit="u").text.split("&& while", 1)[1]
    proc = subprocess.run(["sh", "-c", "while" + wait_and_report], stdout=subprocess.PIPE, universal_newlines=True,
                          check=False)
    assert proc.returncode == 1
    assert tr.split_launch_output(proc.stdout) == ("activated node01\n", "failed-restored", "root@ctl pid 1")
    assert tr.split_launch_output("no state here\n") == ("no state here\n", None, None)
    script = tr.script(t).text
    for verdict in ("locked", "noop", "stale", "profile", tr.STATUS_FAILED, tr.STATUS_DONE):
        assert 'finish %s' % verdict in script
    assert 'echo "$1" > "$W/status"; if [ -n "${2:-}" ]; then echo "$2" > "$W/rc"' in script


def run_confirm(tmp_path, status):
    t = tx(work_dir=str(tmp_path / "w"), confirm_timeout=5)
    (tmp_path / "w").mkdir(exist_ok=True)
    if status is not None:
        (tmp_path / "w" / "status").write_text(status + "\n")
    return t, subprocess.run(["sh", "-c", tr.confirm_command(t, wait=0.3, then=raw("echo then-ran")).text],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)


def test_confirm_deletes_the_canary_and_cleans_up_once_confirmed(tmp_path):
    t, _proc = run_confirm(tmp_path, None)
    (tmp_path / "w" / "canary").write_text("")
    (tmp_path / "w" / "status").write_text(tr.STATUS_CONFIRMED + "\n")
    proc = subprocess.run(["sh", "-c", tr.confirm_command(t, wait=0.3, then=raw("echo then-ran")).text],
                          stdout=subprocess.PIPE, universal_newlines=True, check=False)
    assert proc.returncode == tr.CONFIRM_DELETED
    assert tr.parse_status(proc.stdout)[0] == tr.STATUS_CONFIRMED and "then-ran" in proc.stdout
    assert not (tmp_path / "w").exists()


def test_confirm_without_a_canary_exits_absent_and_keeps_an_undecided_work_dir(tmp_path):
    _t, proc = run_confirm(tmp_path, None)
    assert proc.returncode == tr.CONFIRM_ABSENT and tr.parse_status(proc.stdout)[0] is None
    assert (tmp_path / "w").exists()


def test_a_canary_that_cannot_be_deleted_exits_refused_with_rms_error(tmp_path):
    # (The tests run as root, who may delete anything: a canary rm -f refuses is a non-empty directory.)
    t, _proc = run_confirm(tmp_path, None)
    (tmp_path / "w" / "canary").mkdir()
    (tmp_path / "w" / "canary" / "x").write_text("")
    proc = subprocess.run(["sh", "-c", tr.confirm_command(t, wait=5, then=raw("echo then-ran")).text], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=3, check=False)
    assert proc.returncode == tr.CONFIRM_REFUSED  # at once: no waiting for a verdict that cannot come
    assert "cannot remove" in proc.stderr and (tmp_path / "w" / "canary").exists()
