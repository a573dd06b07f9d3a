"""How far a nix copy got (module_utils._progress.copy_progress), read from Nix's own internal-json log (lines
captured from Nix 2.8's ``nix copy --log-format internal-json`` to a fleet host), and the question a
stalled copy asks the host, against this machine's real nix-store."""

import subprocess
import uuid

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._progress import copy_progress as cp
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError

BIG = "/nix/store/5g9xl93fi4cwjswxdmc0lxkvkpzsfgja-big"
SMALL = "/nix/store/dvxr6lz17iqwwbz2iq6cvnifvcwc5i9v-small"
TOP = "/nix/store/88svh3ckdpmrgla8bnwc1px9az1h15hk-top"
TO = "ssh-ng://root@127.0.89.11"


def copy_path(ident, path):
    return (
        '@nix {"action":"start","fields":["%s","local","%s"],"id":%d,"level":3,'
        '"text":"copying path \'%s\' to \'%s\'","type":100}' % (path, TO, ident, path, TO)
    )


COMPLETE = [
    '@nix {"action":"start","id":138495515426816,"level":0,"text":"","type":102}',
    '@nix {"action":"start","id":138495515426819,"level":6,"text":"querying info about missing paths","type":0}',
    '@nix {"action":"stop","id":138495515426819}',
    '@nix {"action":"stop","id":138495515426816}',
    '@nix {"action":"start","id":138495515426820,"level":3,"text":"copying 3 paths","type":103}',
    copy_path(138495515426821, BIG),
    '@nix {"action":"stop","id":138495515426821}',
    copy_path(138495515426822, SMALL),
    '@nix {"action":"stop","id":138495515426822}',
    copy_path(138495515426823, TOP),
    '@nix {"action":"stop","id":138495515426823}',
    '@nix {"action":"stop","id":138495515426820}',
]
# An unreachable host (ssh's own line is not Nix's; Nix's error carries its colours).
FAILED = [
    "ssh: connect to host 127.0.89.99 port 22: Connection refused",
    '@nix {"action":"msg","column":null,"file":null,"level":0,"line":null,"msg":"\\u001b[31;1merror:\\u001b[0m cannot '
    "open connection to remote store '\\u001b[35;1mssh-ng://root@127.0.89.99\\u001b[0m': \\u001b[35;1m\\u001b[31;1m"
    'error:\\u001b[0m unexpected end-of-file\\u001b[0m","raw_msg":"cannot open connection"}',
]


def fed(lines):
    log = cp.CopyLog()
    for line in lines:
        log.feed(line + "\n")
    return log


def test_a_complete_copy():
    log = fed(COMPLETE)
    assert (log.missing, log.started, log.finished, log.in_flight) == (3, [BIG, SMALL, TOP], [BIG, SMALL, TOP], [])
    # the text Nix prints without JSON: information, not debug activities
    assert log.stderr.splitlines() == ["copying 3 paths..."] + [
        "copying path '%s' to '%s'..." % (p, TO) for p in (BIG, SMALL, TOP)
    ]


def test_a_copy_cut_while_sending_its_second_path():
    log = fed(COMPLETE[:8])
    assert (log.finished, log.in_flight) == ([BIG], [SMALL])
    assert cp.how_far(log, 5 * 1048576) == (
        "it had sent 1 of the 3 paths the host lacked (5.0 MiB written) and was sending %s" % SMALL
    )
    assert cp.how_far(fed(COMPLETE[:2]), None) == (
        "it had sent nothing yet (the host's Nix had not said which paths it lacks)"
    )


def test_nix_s_error_and_other_lines_read_as_nix_prints_them():
    log = fed(FAILED + ["@nix {not json", "@nix [1]", ""])
    assert log.text == [
        "ssh: connect to host 127.0.89.99 port 22: Connection refused",
        "error: cannot open connection to remote store 'ssh-ng://root@127.0.89.99': error: unexpected end-of-file",
        "@nix {not json",
    ]
    assert str(NixError("nix copy failed", stderr=fed(FAILED).stderr, host="h")).endswith(
        "error: cannot open connection to remote store 'ssh-ng://root@127.0.89.99': error: unexpected end-of-file"
    )


def test_the_stalled_copy_s_message():
    log = fed(COMPLETE[:10])
    many = ["/nix/store/%s-p%d" % ("a" * 32, i) for i in range(12)]
    said = cp.stalled_message(TO, 300, log, None, [TOP])
    assert said == (
        "nix copy to %s made no progress for 300 s (copy_stall_timeout) and was stopped: the host's Nix "
        "stopped answering (a stuck or stopped nix-daemon?); it had sent 2 of the 3 paths the host lacked "
        "and was sending %s; the host still lacks 1 path: %s; nothing was switched, the next run copies "
        "what is still missing" % (TO, TOP, TOP)
    )
    assert "the host still lacks 12 paths: %s, and 2 more;" % ", ".join(many[:10]) in cp.stalled_message(
        TO, 5, log, None, many
    )
    assert "the host's store did not say which paths it still lacks;" in cp.stalled_message(TO, 5, log, None, None)
    assert "the host now has every path;" in cp.stalled_message(TO, 5, log, None, [])


@pytest.mark.host_tools
def test_the_host_says_which_paths_it_lacks(tmp_path):
    (tmp_path / "f").write_text(uuid.uuid4().hex)
    valid = subprocess.run(
        ["nix-store", "--add", str(tmp_path / "f")], stdout=subprocess.PIPE, universal_newlines=True, check=True
    ).stdout.strip()
    invalid = "/nix/store/%s-never-built" % ("z" * 32)
    done = subprocess.run(
        ["sh", "-c", cp.lacking_command(10).text],
        input="%s\n%s\n" % (valid, invalid),
        stdout=subprocess.PIPE,
        universal_newlines=True,
        check=False,
    )
    assert done.returncode == 0 and cp.parse_lacking(done.stdout) == [invalid]
