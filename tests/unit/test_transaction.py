import subprocess

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils import transaction as tr

P = "/nix/store/fdbsdqh96xcdfvxizjzr90dqy2v5d87k-nixos-system-web-2"
PREV = "/nix/store/vsp9a6ydyqvbnv7majfxkyl0vjdjwlxq-nixos-system-web-1"


def tx(**kw):
    base = dict(path=P, action="switch", profile="/nix/var/nix/profiles/system", work_dir="/run/nixfleet/abc",
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
    for text in (tr.script(t), tr.launch_command(t, systemd=False, unit="u"), tr.launch_command(t, True, "u")):
        check = subprocess.run(["sh", "-n", "-c", text], stderr=subprocess.PIPE, universal_newlines=True, check=False)
        assert check.returncode == 0, check.stderr


def test_expected_link():
    assert tx().expected_link() == "system-3-link"
    assert tx(prev_generation=None).expected_link() == ""
    assert tx(profile="/nix/var/nix/profiles/per-user/root/tools", prev_generation=7).expected_link() == "tools-7-link"


def test_watchdog_only_when_asked():
    assert tx(confirm_timeout=30).canary in tr.script(tx(confirm_timeout=30))
    assert "canary" not in tr.script(tx())
    assert "i -lt 150" in tr.script(tx(confirm_timeout=30))  # 30 s in 0.2 s ticks


def test_what_each_action_touches():
    boot = tr.script(tx(action="boot"))
    assert "/run/current-system" not in boot and "nix-env -p /nix/var/nix/profiles/system --set" in boot
    test = tr.script(tx(action="test"))
    assert "--set" not in test and "/run/current-system" in test
    back = tr.script(tx(to_generation=2))
    assert "--switch-generation 2" in back and "--delete-generations" not in back
    assert "--delete-generations" in tr.script(tx())


def test_activation_never_inherits_the_lock():
    script = tr.script(tx())
    assert "exec 9>>/nix/var/nix/nixfleet-deploy.lock" in script
    assert all("9>&-" in line for line in script.splitlines() if "switch-to-configuration" in line)


def test_launchers():
    assert tr.launch_command(tx(), systemd=True, unit="nixfleet-x").startswith(
        "mkdir -p /run/nixfleet/abc && systemd-run -E LOCALE_ARCHIVE -E NIXOS_INSTALL_BOOTLOADER --collect")
    assert "setsid sh -c" in tr.launch_command(tx(), systemd=False, unit="u")
