"""The fleet does not depend on the machine's accounts: on a machine that already has a ``deploy``
user (CI runners and developer machines often do), a ``deploy`` group, another user holding the
fleet deploy user's uid, and sudo rules that deny that ``deploy`` everything, the become tests pass.

The machine is this one seen through a private mount namespace whose /etc/passwd, group, shadow,
sudoers and sudoers.d are such copies; pytest runs the become tests there (the fleet hosts inherit
that view, as they would inherit a real machine's files) and the mounts go with the namespace."""

import os
import re
import subprocess
import sys

import pytest

from fleetctl import ROOT

pytestmark = pytest.mark.integration

# Password sudo (node03), sudo without a password (node01, node02), deploys, check mode, rollback.
BECOME_TESTS = (
    "test_the_inventory_logs_in_as_deploy_and_becomes_root_where_the_flake_says or "
    "test_deploy_as_deploy_sticks_after_the_confirm_window or "
    "test_second_run_and_check_mode_change_nothing or test_rollback_playbook or "
    "test_a_sudo_password_from_variables_never_shows"
)
MACHINE_USERS = (
    "deploy:x:1999:1999:the machine's own deploy:/home/machine-deploy:/bin/bash\n"
    "builder:x:2001:2001:holds the fleet deploy user's uid:/nonexistent:/usr/sbin/nologin\n"
)
MACHINE_GROUPS = "deploy:x:1999:\nbuilder:x:2001:\n"
# The machine's deploy has a password of its own (sudo would check that one on a fleet that kept it).
MACHINE_SHADOW = "deploy:%s:19000:0:99999:7:::\nbuilder:!:19000:0:99999:7:::\n"
DENY = "deploy ALL=(ALL:ALL) !ALL\n"


@pytest.fixture
def machine_etc(tmp_path):
    """Copies of the machine's account files with a deploy user, group, uid holder and deny rules of its own."""
    etc = tmp_path / "etc"
    (etc / "sudoers.d").mkdir(parents=True)
    password_hash = subprocess.run(
        ["openssl", "passwd", "-6", "the-machines-own"], stdout=subprocess.PIPE, universal_newlines=True, check=True
    ).stdout.strip()
    for name, extra in (
        ("passwd", MACHINE_USERS),
        ("group", MACHINE_GROUPS),
        ("shadow", MACHINE_SHADOW % password_hash),
        ("sudoers", DENY),
    ):
        (etc / name).write_text(open("/etc/" + name).read() + extra)
    (etc / "sudoers.d" / "machine-deploy").write_text(DENY)
    os.chmod(str(etc / "shadow"), 0o640)
    os.chmod(str(etc / "sudoers"), 0o440)
    os.chmod(str(etc / "sudoers.d" / "machine-deploy"), 0o440)
    return etc


def test_become_tests_pass_on_a_machine_with_its_own_deploy_user(machine_etc, tmp_path):
    mounts = " && ".join(
        "mount --bind %s /etc/%s" % (machine_etc / name, name)
        for name in ("passwd", "group", "shadow", "sudoers", "sudoers.d")
    )
    inner = (
        "%s && id -u deploy && exec %s -m pytest -p no:cacheprovider -q --basetemp %s "
        "tests/integration/test_become.py -k '%s'"
    ) % (mounts, sys.executable, tmp_path / "inner", BECOME_TESTS)
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", inner],
        cwd=str(ROOT),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=1500,
        check=False,
    )
    assert proc.stdout.splitlines()[0] == "1999", proc.stdout[-3000:]  # the machine's deploy was in place
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert re.match(r"5 passed\b", proc.stdout.splitlines()[-1]), proc.stdout[-3000:]
