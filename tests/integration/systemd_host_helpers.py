"""What a test reads from a systemd host of the fleet (tests/fleet/systemd_fleet.py), without ssh: the
running system, the system profile, the boot id, a unit's state; and a reboot by hand."""

import subprocess
import time

from fleetctl import inside

import nsfleet


def running(host):
    return inside(host, "readlink /run/current-system || true").strip()


def profile(host):
    return inside(
        host, "if [ -e /nix/var/nix/profiles/system ]; then readlink -f /nix/var/nix/profiles/system; fi"
    ).strip()


def boot_id(host):
    return inside(host, "cat /proc/sys/kernel/random/boot_id").strip()


def unit_state(host, unit):
    return inside(host, "systemctl is-active %s || true" % unit).strip()


def reboot_by_hand(host):
    """``systemctl reboot`` on the host; back when it has a new boot id and systemd says running."""
    before = boot_id(host)
    inside(host, "systemctl reboot")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if boot_id(host) != before and inside(host, "systemctl is-system-running || true").strip() == "running":
                return
        except (subprocess.CalledProcessError, nsfleet.systemd_fleet.SystemdHostError):
            pass
        time.sleep(0.3)
    raise AssertionError("%s did not come back from its reboot" % host.name)
