"""Deploys cut off on systemd hosts (the fleet and flake of test_systemd_hosts.py): the ssh sessions
killed half-way through an activation, and the controller killed before it confirms. The fixture's
``slow`` mode holds the activation half-way (``/run/nixfleet-half-way``) for 8 s.
"""

import os
import signal
import subprocess
import time

import pytest

import fleet_processes
from fleetctl import cut_ssh_sessions, inside, served_version
from playbook_helpers import failures, playbook_command
from test_systemd_hosts import (  # pytest uses these fixtures here
    CONFIRM,
    deploy,
    fleet,
    flake,
    inventory,
    profile,
    running,
    unit_state,
    variables,
)

pytestmark = pytest.mark.integration
__all__ = ["fleet", "flake", "inventory"]


def start_deploy(inventory, fleet, control_dir, limit, **extra):
    """deploy.yml in the background, in a session of its own, its ssh masters under ``control_dir``."""
    argv, env = playbook_command(inventory, "deploy.yml", [], extra_vars=variables(fleet, **extra), limit=limit)
    env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = str(control_dir)
    return subprocess.Popen(
        argv,
        env=env,
        cwd=str(inventory.parent),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        start_new_session=True,
    )


def wait_half_way(host, version, deploying):
    """Until the host is half-way through activating ``version`` (the fixture's ``slow`` mode)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and deploying.poll() is None:
        if inside(host, "cat /run/nixfleet-half-way 2>/dev/null || true").strip() == version:
            return
        time.sleep(0.1)
    out, err = deploying.communicate() if deploying.poll() is not None else ("", "")
    raise AssertionError("%s never got half-way through activating %s: %s %s" % (host.name, version, out[-3000:], err))


def stop_ssh_masters(control_dir):
    """The ssh ControlPersist masters of one run (they outlive ansible-playbook), by their control path."""
    for pid in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if str(control_dir).encode() in f.read():
                    os.kill(int(pid), signal.SIGKILL)
        except (OSError, ValueError):
            pass


@pytest.mark.parametrize("magic_rollback", [True, False], ids=["confirmed", "no-watchdog"])
def test_ssh_cut_mid_activation_the_transient_unit_finishes_and_the_deploy_lands(
    fleet, flake, inventory, tmp_path, magic_rollback
):
    host = fleet["sys01"]
    old = running(host)
    version = flake.bump("sys01", fail="slow")
    deploying = start_deploy(inventory, fleet, tmp_path, "sys01", nixos_deploy_magic_rollback=magic_rollback)
    try:
        wait_half_way(host, version, deploying)
        # Every ssh session to the host, the deploy's included, cut while the activation is half-way.
        cut_ssh_sessions(host)
        out, err = deploying.communicate(timeout=600)
    finally:
        flake.set_host("sys01", fail="none")
        if deploying.poll() is None:
            os.killpg(deploying.pid, signal.SIGKILL)
        stop_ssh_masters(tmp_path)
    assert deploying.returncode == 0, (out[-5000:], err[-3000:])
    time.sleep(CONFIRM + 2)  # past the confirm window: nothing rolls it back later
    new = running(host)
    assert new != old and profile(host) == new and served_version(host) == version
    assert unit_state(host, "nixfleet-http.service") == "active"


def kill_controller(deploying, control_dir):
    """The controller gone: ansible-playbook and every process under it (its workers run in sessions of
    their own, so a SIGKILL of its process group alone leaves them to finish their task), frozen first
    so none forks meanwhile, then SIGKILLed; and its ssh masters."""
    frozen = []
    while True:
        found = [pid for pid in [deploying.pid] + fleet_processes.descendants(deploying.pid) if pid not in frozen]
        if not found:
            break
        for pid in found:
            fleet_processes.kill(pid, signal.SIGSTOP)
        frozen += found
    for pid in frozen:
        fleet_processes.kill(pid, signal.SIGKILL)
    deploying.communicate()
    stop_ssh_masters(control_dir)


def settled(host):
    """No nixfleet transaction unit is running on the host."""
    return (
        inside(host, "systemctl list-units --plain --no-legend 'nixfleet-????????????????.service' || true").strip()
        == ""
    )


def test_controller_killed_before_confirmation_the_host_restores_itself(fleet, flake, inventory, tmp_path):
    host = fleet["sys02"]
    flake.bump("sys02")  # a generation with no failure mode to come back to
    assert deploy(inventory, fleet, limit="sys02").rc == 0
    old, old_version = running(host), served_version(host)
    version = flake.bump("sys02", fail="slow")
    deploying = start_deploy(inventory, fleet, tmp_path, "sys02")
    try:
        wait_half_way(host, version, deploying)
        # The profile already names the new generation; the controller dies before it can confirm.
        new = profile(host)
        assert new != old and running(host) == new
        kill_controller(deploying, tmp_path)
        killed = time.monotonic()
        # The activation's last seconds, then the confirm window, then the watchdog's restore.
        deadline = killed + 8 + CONFIRM + 30
        while time.monotonic() < deadline and not settled(host):
            time.sleep(0.3)
        restored = time.monotonic() - killed
    finally:
        flake.set_host("sys02", fail="none")
        if deploying.poll() is None:
            kill_controller(deploying, tmp_path)
    assert settled(host) and (running(host), profile(host)) == (old, old)
    assert served_version(host) == old_version and unit_state(host, "nixfleet-http.service") == "active"
    assert CONFIRM <= restored <= 8 + CONFIRM + 5  # it waited for a confirmation that never came, then restored
    # The next deploy finds no half-done transaction in its way.
    again = deploy(inventory, fleet, limit="sys02")
    assert again.rc == 0, failures(again)
    assert served_version(host) == version
