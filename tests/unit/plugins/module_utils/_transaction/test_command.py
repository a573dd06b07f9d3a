import re
import subprocess
from typing import Any, Dict

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction import command as tr
from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction.protocol import Deletion, Verdict
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import raw

P = "/nix/store/fdbsdqh96xcdfvxizjzr90dqy2v5d87k-nixos-system-web-2"
PREV = "/nix/store/vsp9a6ydyqvbnv7majfxkyl0vjdjwlxq-nixos-system-web-1"


def tx(**kw):
    base: Dict[str, Any] = dict(
        path=P,
        action="switch",
        profile="/nix/var/nix/profiles/system",
        work_dir="/run/nixfleet/abc",
        owner='me@ctl pid 1, deploying it\'s ${HOME} "quoted"',
        prev_generation=3,
        prev_profile_path=PREV,
        prev_running=PREV,
    )
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
    for text in (
        tr.script(t).text,
        tr.launch_command(t, systemd=False, unit="u").text,
        tr.launch_command(t, True, "u").text,
    ):
        check = subprocess.run(["sh", "-n", "-c", text], stderr=subprocess.PIPE, universal_newlines=True, check=False)
        assert check.returncode == 0, check.stderr


def test_expected_link():
    assert tx().expected_link() == "system-3-link"
    assert tx(prev_generation=None).expected_link() == ""
    assert tx(profile="/nix/var/nix/profiles/per-user/root/tools", prev_generation=7).expected_link() == "tools-7-link"


def test_watchdog_only_when_asked():
    assert "confirm_timeout=30" in tr.arguments(tx(confirm_timeout=30))
    assert "confirm_timeout=0" in tr.arguments(tx())
    script = tr.script_text().text
    # no canary without a watchdog; 30 s are 150 ticks of 0.2 s
    assert 'if [ "$confirm_timeout" -gt 0 ]; then\n  canary=$W/canary\n  : > "$canary"' in script
    assert "[ $i -lt $((confirm_timeout * 5)) ]; do sleep 0.2;" in script


def test_what_each_action_touches():
    boot = tr.arguments(tx(action="boot"))
    assert "sets_running=" in boot and "sets_profile=1" in boot and "path=%s" % P in boot
    test = tr.arguments(tx(action="test"))
    assert "sets_profile=" in test and "sets_running=1" in test
    assert "running_link=/run/current-system" in test
    back = tr.arguments(tx(to_generation=2))
    assert "to_generation=2" in back and "creates_generation=" in back
    assert "creates_generation=1" in tr.arguments(tx())
    script = tr.script_text().text
    assert 'set -- nix-env -p "$profile" --switch-generation "$to_generation"' in script
    assert 'set -- nix-env -p "$profile" --set "$path"' in script
    assert '[ -n "$creates_generation" ]; then\n          gen=${now%-link}; gen=${gen##*-}' in script


def test_every_input_is_one_name_value_word_the_script_reads():
    """Each argument names a variable deploy.sh sets (an unknown one would stop it), and is one word."""
    script = tr.script_text().text
    for variant in VARIANTS + [tx(audit_head='{"a": 1', run_as="alice", activation_timeout=5, install_bootloader=True)]:
        for word in tr.arguments(variant):
            name = word.split("=", 1)[0]
            assert "    %s=*) %s=$value ;;" % (name, name) in script


def test_an_unknown_input_stops_the_script_before_it_does_anything(tmp_path):
    t = tx(work_dir=str(tmp_path / "w"), lock_file=str(tmp_path / "lock"))
    proc = subprocess.run(
        ["sh", "-c", tr.script_text().text, tr.SCRIPT_NAME, *tr.arguments(t), "hostname=x"],
        stderr=subprocess.PIPE,
        universal_newlines=True,
        check=False,
    )
    assert (proc.returncode, proc.stderr) == (2, "nixfleet-tx: unknown argument hostname\n")
    assert not (tmp_path / "w").exists() and not (tmp_path / "lock").exists()


def test_activation_never_inherits_the_lock():
    script = tr.script_text().text
    assert 'exec 9>>"$lock_file"' in script
    # every line that runs an activation: the activation function, or a previous system's switch-to-configuration
    runs = [
        line
        for line in script.splitlines()
        if re.match(r"\s*(if .*then )?activation (>|2)", line)
        or re.search(r'switch-to-configuration" (boot|test)', line)
    ]
    assert len(runs) == 4 and all("9>&-" in line for line in runs)


def test_launchers():
    on_systemd = tr.launch_command(tx(), systemd=True, unit="nixfleet-x").text
    assert on_systemd.startswith("mkdir -p /run/nixfleet/abc && printf")
    # systemd would expand ${...} in the unit's command line: the script goes there as a file.
    run = on_systemd[on_systemd.index("systemd-run") : on_systemd.index(" && while")]
    assert run == (
        "systemd-run -E LOCALE_ARCHIVE -E NIXOS_INSTALL_BOOTLOADER --collect --no-ask-password --quiet "
        "--unit=nixfleet-x sh /run/nixfleet/abc/script"
    )
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
    proc = subprocess.run(
        ["sh", "-c", "while" + wait_and_report], stdout=subprocess.PIPE, universal_newlines=True, check=False
    )
    assert proc.returncode == 1
    assert tr.split_launch_output(proc.stdout) == ("activated node01\n", "failed-restored", "root@ctl pid 1")
    assert tr.split_launch_output("no state here\n") == ("no state here\n", None, None)
    script = tr.script_text().text
    for verdict in Verdict:  # each verdict with a code of its own finishes with it
        if verdict.exit_code is not None:
            assert "finish %s %d" % (verdict.word, verdict.exit_code) in script
    for verdict in (Verdict.FAILED_RESTORED, Verdict.FAILED_KEPT):
        assert "finish %s $arc" % verdict.word in script
    assert 'finish "%s" $arc' % Verdict.DONE.word in script
    assert 'echo "$1" > "$W/status"\n  if [ -n "${2:-}" ]; then echo "$2" > "$W/rc"; fi' in script


def run_confirm(tmp_path, status):
    t = tx(work_dir=str(tmp_path / "w"), confirm_timeout=5)
    (tmp_path / "w").mkdir(exist_ok=True)
    if status is not None:
        (tmp_path / "w" / "status").write_text(status + "\n")
    return t, subprocess.run(
        ["sh", "-c", tr.confirm_command(t, wait=0.3, then=raw("echo then-ran")).text],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        check=False,
    )


def test_confirm_deletes_the_canary_and_cleans_up_once_confirmed(tmp_path):
    t, _proc = run_confirm(tmp_path, None)
    (tmp_path / "w" / "canary").write_text("")
    (tmp_path / "w" / "status").write_text(Verdict.CONFIRMED.word + "\n")
    proc = subprocess.run(
        ["sh", "-c", tr.confirm_command(t, wait=0.3, then=raw("echo then-ran")).text],
        stdout=subprocess.PIPE,
        universal_newlines=True,
        check=False,
    )
    assert proc.returncode == Deletion.DELETED.code
    assert tr.parse_status(proc.stdout)[0] == Verdict.CONFIRMED.word and "then-ran" in proc.stdout
    assert not (tmp_path / "w").exists()


def test_confirm_without_a_canary_exits_absent_and_keeps_an_undecided_work_dir(tmp_path):
    _t, proc = run_confirm(tmp_path, None)
    assert proc.returncode == Deletion.ABSENT.code and tr.parse_status(proc.stdout)[0] is None
    assert (tmp_path / "w").exists()


def test_a_canary_that_cannot_be_deleted_exits_refused_with_rms_error(tmp_path):
    # (The tests run as root, who may delete anything: a canary rm -f refuses is a non-empty directory.)
    t, _proc = run_confirm(tmp_path, None)
    (tmp_path / "w" / "canary").mkdir()
    (tmp_path / "w" / "canary" / "x").write_text("")
    proc = subprocess.run(
        ["sh", "-c", tr.confirm_command(t, wait=5, then=raw("echo then-ran")).text],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=3,
        check=False,
    )
    assert proc.returncode == Deletion.REFUSED.code  # at once: no waiting for a verdict that cannot come
    assert "cannot remove" in proc.stderr and (tmp_path / "w" / "canary").exists()


@pytest.mark.host_tools
def test_the_script_is_clean_under_shellcheck(tmp_path):
    """deploy.sh as shipped passes shellcheck as POSIX sh, every check down to style; so does the
    whole text a host runs (the shared functions prepended, the inputs set), but for two checks:
    SC2016, the inputs are data in single quotes, meant not to expand; SC3013, own_processes' ``-ef``,
    which dash, bash and busybox sh all have (the fleet's hosts run it)."""
    whole = tmp_path / "whole.sh"
    whole.write_text(tr.script(tx(confirm_timeout=30, audit_head='{"a": 1')).text)
    for script, allowed in ((tr.SCRIPT_FILE, []), (str(whole), ["--exclude=SC2016,SC3013"])):
        check = subprocess.run(
            ["shellcheck", "--shell=sh", "--severity=style", *allowed, script],
            stdout=subprocess.PIPE,
            universal_newlines=True,
            check=False,
        )
        assert check.returncode == 0, check.stdout


def test_the_script_is_the_one_raw_piece_and_has_no_holes():
    """Its inputs are arguments: the file has no ``@{}`` hole for raw() to fill."""
    with open(tr.SCRIPT_FILE, encoding="utf-8") as script:
        assert "@{" not in script.read()
