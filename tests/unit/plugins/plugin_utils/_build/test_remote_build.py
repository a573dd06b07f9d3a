"""remote_build (plugins/plugin_utils/_build/remote_build.py): systems built on a build host — what it
already has is not copied or built again, the derivations of the rest go over in one ``nix copy
--derivation`` and are realised in one ``nix-store --realise --keep-going``, and a system that fails to
build fails its own host with the build host's error and the log's last lines. The build host answers by
a needle of each command (tests/helpers/action_harness.py's ActionShell); the real NixCli builds the
copy's command line (tests/helpers/recorded_copies.py records it). The validity loop runs in the real sh."""

import os
import subprocess

from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build import remote_build
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.ssh_target import SshTarget
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._transfer.closure_transfer import Transfer

from action_harness import ActionShell, said
from recorded_copies import RecordedCopies

BUILDER = SshTarget("127.0.0.1", user="nix", name="builder")
WEB = ("/nix/store/%s-nixos-system-web.drv" % ("a" * 32), "/nix/store/%s-nixos-system-web" % ("b" * 32))
DB = ("/nix/store/%s-nixos-system-db.drv" % ("c" * 32), "/nix/store/%s-nixos-system-db" % ("d" * 32))
SYSTEMS = {"web": WEB, "db": DB}
VALID = "--check-validity"
REALISE = "nix-store --realise --keep-going"
READ_LOG = "nix-store --read-log"


def build(commands, nix=None):
    shell = ActionShell(commands=commands)
    nix = nix or RecordedCopies()
    return shell, nix, remote_build.build(shell, nix.nix, BUILDER, dict(SYSTEMS), Transfer())


def test_systems_the_build_host_has_are_neither_copied_nor_built():
    shell, nix, report = build({VALID: said(0, "%s\n%s\n" % (DB[1], WEB[1]))})
    assert report.built == {"web": WEB[1], "db": DB[1]} and report.failed == {} and report.steps == []
    assert nix.copies == [] and shell.performed == [(VALID, False)]  # looked for as the login user


def test_the_missing_derivations_go_over_in_one_copy_and_are_built_in_one_realise():
    shell, nix, report = build({VALID: said(0, WEB[1] + "\n"), REALISE: said(0, DB[1] + "\n")})
    assert report.built == {"web": WEB[1], "db": DB[1]} and report.failed == {}
    assert report.steps == ["copy", "realise"]
    assert len(nix.copies) == 1 and nix.words()[-1] == DB[0] and "--derivation" in nix.words()  # only db's
    assert nix.destination() == "ssh-ng://nix@127.0.0.1"
    assert shell.names() == [VALID, REALISE] and shell.texts[1] == "nix-store --realise --keep-going %s" % DB[0]


def test_a_system_that_fails_to_build_fails_its_host_with_the_build_hosts_error_and_log():
    stderr = (
        "error: builder for '%s' failed with exit code 1;\n       last 1 log lines:\n       > boom\n"
        "error: build of '%s', '%s' failed\n" % (DB[0], DB[0], WEB[0])
    )
    shell, nix, report = build(
        {
            VALID: [said(0, ""), said(0, WEB[1] + "\n")],  # nothing there; after the build, web's system
            REALISE: said(1, "", stderr),
            READ_LOG: said(0, "compiling\n\nboom\n"),
        }
    )
    assert report.built == {"web": WEB[1]}
    assert report.failed == {
        "db": "building %s on the build host builder failed: error: builder for '%s' failed with exit code 1;\n"
        "       last 1 log lines:\n       > boom\n"
        "error: build of '%s', '%s' failed\n"  # this block names db's derivation too
        "       last 2 log lines:\n       > compiling\n       > boom" % (DB[0], DB[0], DB[0], WEB[0])
    }
    assert shell.names() == [VALID, REALISE, VALID, READ_LOG]
    assert shell.texts[2].count(DB[1]) == 1 and shell.texts[2].count(WEB[1]) == 1  # the second look: both missing
    assert shell.texts[3] == "nix-store --read-log %s | tail -n 10" % DB[0]
    assert shell.performed[3] == (READ_LOG, False)


def test_a_failed_build_without_an_error_or_a_log_still_names_the_system():
    shell, nix, report = build({VALID: said(0, ""), REALISE: said(1, "", ""), READ_LOG: said(1, "", "no log")})
    assert report.failed["web"] == "building %s on the build host builder failed: it gave nothing" % WEB[0]
    assert set(report.failed) == {"web", "db"} and report.built == {}


def test_the_validity_loop_prints_only_the_paths_the_store_holds(tmp_path):
    """valid_command in the real sh, against a nix-store that holds paths named valid-*."""
    fake = tmp_path / "nix-store"
    fake.write_text(
        '#!/bin/sh\n[ "$1" = --check-validity ] || exit 9\ncase "$2" in */*-valid-*) exit 0;; esac\nexit 1\n'
    )
    fake.chmod(0o755)
    paths = [
        "/nix/store/%s-valid-a" % ("a" * 32),
        "/nix/store/%s-gone" % ("b" * 32),
        "/nix/store/%s-valid-c" % ("c" * 32),
    ]
    env = dict(os.environ, PATH="%s:%s" % (tmp_path, os.environ["PATH"]))
    ran = subprocess.run(
        ["sh", "-c", remote_build.valid_command(paths).text], env=env, stdout=subprocess.PIPE, text=True, check=False
    )
    assert ran.returncode == 0 and ran.stdout.split() == [paths[0], paths[2]]
