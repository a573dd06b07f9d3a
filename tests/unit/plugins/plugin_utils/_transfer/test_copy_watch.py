"""The stall watchdog around nix copy (plugin_utils._transfer.copy_watch), with stand-in copies run for real:
one that goes silent is ended with its whole process group (its "ssh" too) after the stall timeout;
one that keeps moving bytes without a word is not; a failing one reports Nix's own error text."""

import sys
import time

import pytest

from ansible_collections.nixfleet.nixos.plugins.plugin_utils._transfer import copy_watch

START = '@nix {"action":"start","id":1,"level":3,"text":"copying 2 paths","type":103}'
PATH = (
    '@nix {"action":"start","fields":["/nix/store/%s-a","local","ssh-ng://h"],"id":2,"level":3,'
    '"text":"copying path","type":100}' % ("a" * 32)
)


def stand_in(tmp_path, code):
    script = tmp_path / "nix-copy"
    script.write_text("#!%s\nimport os, subprocess, sys, time\n%s\n" % (sys.executable, code))
    script.chmod(0o755)
    return [str(script)]


def alive(pid, argv):
    """Is ``pid`` still the running (not zombie) program ``argv``?"""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as cmdline, open("/proc/%d/stat" % pid) as stat:
            return (
                cmdline.read().split(b"\0")[:-1] == [word.encode() for word in argv]
                and stat.read().rsplit(") ", 1)[1].split()[0] != "Z"
            )
    except OSError:
        return False


def gone_within(pid, argv, seconds):
    """Has ``pid`` (running ``argv``) died within ``seconds``? A SIGKILL takes effect when the process
    next runs, which on a loaded machine is not at once."""
    deadline = time.monotonic() + seconds
    while alive(pid, argv):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def status(pid):
    try:
        with open("/proc/%d/status" % pid) as status_file:
            return status_file.read()
    except OSError as error:
        return str(error)


def test_a_silent_copy_is_ended_with_its_process_group(tmp_path):
    ssh_argv = ["sleep", "299.5"]
    argv = stand_in(
        tmp_path,
        "ssh = subprocess.Popen(%r)\n"
        "open(%r, 'w').write(str(ssh.pid))\n"
        "print(%r, file=sys.stderr, flush=True)\nprint(%r, file=sys.stderr, flush=True)\n"
        "time.sleep(300)" % (ssh_argv, str(tmp_path / "ssh.pid"), START, PATH),
    )
    started = time.monotonic()
    watched = copy_watch.run(argv, stall_timeout=1)
    took = time.monotonic() - started
    assert watched.stalled and 1 <= took < 30, (took, watched)
    assert watched.result.rc != 0, watched
    assert (watched.log.missing, watched.log.in_flight) == (2, ["/nix/store/%s-a" % ("a" * 32)]), watched
    ssh_pid = int((tmp_path / "ssh.pid").read_text())
    assert gone_within(ssh_pid, ssh_argv, 10), status(ssh_pid)  # its "ssh" went with it


def test_bytes_on_the_move_are_progress_even_without_a_word(tmp_path):
    argv = stand_in(
        tmp_path,
        "out = open(os.devnull, 'wb')\n"
        "for _ in range(30):\n    out.write(b'x' * 65536); out.flush(); time.sleep(0.1)\n",
    )
    watched = copy_watch.run(argv, stall_timeout=1)
    assert not watched.stalled and watched.result.rc == 0
    assert (watched.written or 0) >= 30 * 65536


def test_no_limit_and_nix_s_error_text(tmp_path):
    argv = stand_in(
        tmp_path,
        'time.sleep(1.5)\nprint(\'@nix {"action":"msg","level":0,"msg":"\\\\u001b[31;1merror:'
        "\\\\u001b[0m out of disk\"}', file=sys.stderr)\nprint('plain', flush=True)\nsys.exit(3)",
    )
    watched = copy_watch.run(argv, stall_timeout=0)
    assert not watched.stalled
    assert (watched.result.rc, watched.result.stdout, watched.result.stderr) == (3, "plain\n", "error: out of disk\n")


def test_a_missing_nix_is_a_clear_error(tmp_path):
    with pytest.raises(copy_watch.NixError, match="no-such-nix: command not found; install Nix on the controller"):
        copy_watch.run([str(tmp_path / "no-such-nix"), "copy"])
