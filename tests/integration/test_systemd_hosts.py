"""deploy.yml and the modules on hosts that behave like NixOS: systemd as PID 1 (systemd-nspawn),
sshd and nix-daemon as units, a non-root ``deploy`` user with sudo, real reboots with their own boot ids.

sys01: sudo NOPASSWD, trusted by Nix (deploy-rs ``sshUser = "deploy"``, ``user = "root"``);
sys02: sudo asks for a password (colmena ``targetUser = "deploy"``); sys03: NOPASSWD, but Nix does
not trust ``deploy``. The fleet boots once for the module.
"""

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from fleetctl import FixtureFlake, inside, served_version, ssh
from fleet_fixtures import own_fleet, fleet_inventory
from playbook_helpers import failures, leaked_lines, run_playbook, run_playbook_text, run_task
from systemd_host_helpers import boot_id, profile, reboot_by_hand, running, unit_state

import nsfleet

pytestmark = pytest.mark.integration

NAMES = ["sys01", "sys02", "sys03"]
USERS = {
    "sys01": nsfleet.DeployUser("nopasswd"),
    "sys02": nsfleet.DeployUser("password"),
    "sys03": nsfleet.DeployUser("nopasswd", trusted=False),
}
SHAPES = {"sys01": "deploy-rs", "sys02": "colmena", "sys03": "deploy-rs"}
CONFIRM = 5
# The targets' Nix, by the Debian suite the hosts boot (tests/fleet/systemd-base.sh).
TARGET_NIX = {"trixie": "2.26", "sid": "2.34"}[os.environ.get("NIXFLEET_SYSTEMD_SUITE", "trixie")]


fleet = own_fleet("systemd-hosts", 3, [], "127.0.41.11", names=NAMES, deploy_users=USERS, systemd=True)


@pytest.fixture(scope="module")
def flake(fleet, tmp_path_factory):
    hosts = {
        n: {"address": fleet[n].address, "port": fleet[n].port, "user": "deploy", "shape": SHAPES[n]} for n in NAMES
    }
    return FixtureFlake.from_specs(tmp_path_factory.mktemp("systemd-hosts-flake") / "flake", hosts)


inventory = fleet_inventory("systemd-hosts")


def variables(fleet, **extra):
    return dict({"ansible_become_password": fleet["sys02"].password, "nixos_deploy_confirm_timeout": CONFIRM}, **extra)


def deploy(inventory, fleet, *args, limit="sys01,sys02", **extra):
    return run_playbook(inventory, "deploy.yml", *args, extra_vars=variables(fleet, **extra), limit=limit)


def test_each_host_boots_systemd_with_sshd_and_nix_daemon_as_units(fleet):
    machine_boot_id = open("/proc/sys/kernel/random/boot_id").read().strip()
    ids = set()
    for name in NAMES:
        host = fleet[name]
        assert inside(host, "cat /proc/1/comm").strip() == "systemd"
        assert inside(host, "systemctl is-system-running || true").strip() == "running"
        assert unit_state(host, "ssh.service") == unit_state(host, "nix-daemon.service") == "active"
        assert inside(host, "hostname").strip() == name
        ids.add(boot_id(host))
        # Logged in as deploy, Nix goes through the daemon, which trusts deploy or not as configured.
        ping = ssh(host, "id -un; nix store ping 2>&1").stdout
        assert ping.startswith("deploy\n") and "Version: %s." % TARGET_NIX in ping, ping
        assert ("Trusted: 1" in ping) is USERS[name].trusted, ping
    assert len(ids) == 3 and machine_boot_id not in ids
    assert ssh(fleet["sys01"], "sudo -n id -u").stdout.strip() == "0"
    assert ssh(fleet["sys02"], "sudo -n id -u", check=False).returncode != 0  # a password is needed there


def test_deploy_as_deploy_with_a_sudo_password_runs_the_switch_in_a_transient_unit(fleet, flake, inventory):
    password = fleet["sys02"].password
    rc, out = run_playbook_text(
        inventory, "deploy.yml", "-vvv", "--diff", "-l", "sys01,sys02", extra_vars=variables(fleet)
    )
    assert rc == 0, out[-5000:]
    assert leaked_lines(out, [password]) == []
    time.sleep(CONFIRM + 2)  # past the confirm window: an unconfirmed switch would have been rolled back
    for name in ("sys01", "sys02"):
        host = fleet[name]
        path = running(host)
        assert path.endswith("-nixos-system-%s-1" % name) and profile(host) == path
        # The fixture's HTTP service is a unit of the generation; the switch ran in a transient unit
        # (systemd-run), which systemd logged and collected.
        assert unit_state(host, "nixfleet-http.service") == "active"
        assert inside(host, "systemctl show -p ExecStart nixfleet-http.service").count(path) == 1
        journal = inside(host, "journalctl -b --no-pager -o cat _PID=1")
        assert re.search(r"Started nixfleet-[0-9a-f]{16}\.service", journal), journal[-3000:]
        # The script reached its shell whole (systemd expands ${...} on a unit's command line).
        assert "Invalid environment variable" not in inside(host, "journalctl -b --no-pager")
        assert inside(host, "systemctl list-units --all --plain --no-legend 'nixfleet-tx*' || true").strip() == ""
    again = deploy(inventory, fleet)
    assert again.rc == 0 and all(again.stats(n)["changed"] == 0 for n in ("sys01", "sys02")), failures(again)


def test_untrusted_deploy_user_gets_a_clear_error_then_signed_paths_land(fleet, flake, inventory, tmp_path):
    host = fleet["sys03"]
    run = deploy(inventory, fleet, limit="sys03")
    assert run.rc != 0
    msg = run.results("Copy and switch to the system")["sys03"]["msg"]
    assert "the host's Nix does not trust deploy (it is not in trusted-users)" in msg, msg
    assert "nix store sign" in msg and "check_sigs" in msg and "nothing was switched" in msg, msg
    assert running(host) == "" and profile(host) == ""
    # The host's nix-daemon trusts the controller's key (nix_conf through sudo restarts the unit) ...
    secret, public = tmp_path / "ctl.sec", tmp_path / "ctl.pub"
    subprocess.run(
        ["nix-store", "--generate-binary-cache-key", "nixfleet-systemd-test", str(secret), str(public)], check=True
    )
    trust = run_task(
        inventory,
        "sys03",
        "nixfleet.nixos.nix_conf",
        {"extra_trusted_public_keys": [public.read_text().strip()]},
        become=True,
    )
    assert trust.rc == 0 and trust.results("task under test")["sys03"]["daemon_restarted"] is True, failures(trust)
    # ... and the closure is signed with it: the untrusted user's push lands, signatures and all.
    path = flake.build("sys03")
    subprocess.run(["nix", "store", "sign", "--key-file", str(secret), "--recursive", path], check=True)
    signed = deploy(inventory, fleet, limit="sys03", nixos_deploy_check_sigs=True)
    assert signed.rc == 0, failures(signed)
    time.sleep(CONFIRM + 2)
    assert running(host) == profile(host) == path
    assert "nixfleet-systemd-test:" in ssh(host, "nix path-info --sigs %s" % path).stdout


def test_a_really_failed_unit_fails_the_systemd_health_check_and_rolls_back(fleet, flake, inventory):
    host = fleet["sys01"]
    before = running(host)
    flake.bump("sys01", fail="exit4")
    run = deploy(inventory, fleet, limit="sys01", nixos_deploy_health_checks=[{"type": "systemd"}])
    flake.set_host("sys01", fail="none")
    assert run.rc != 0
    assert "nixfleet-broken.service" in json.dumps(failures(run))
    assert running(host) == before and profile(host) == before
    inside(host, "systemctl reset-failed")


def test_a_kernel_change_reboots_the_host_into_the_new_generation(fleet, flake, inventory):
    host = fleet["sys01"]
    # Booted into its deployed generation, as an installed NixOS is (nixfleet-boot.service brings it up).
    deployed = profile(host)
    reboot_by_hand(host)
    assert inside(host, "readlink /run/booted-system").strip() == running(host) == deployed
    assert unit_state(host, "nixfleet-http.service") == "active"
    before_boot = boot_id(host)
    flake.bump("sys01", kernel="6.6.2")
    run = deploy(inventory, fleet, limit="sys01", nixos_deploy_reboot="if-needed")
    assert run.rc == 0, failures(run)
    rebooted = run.results("Reboot")["sys01"]
    assert rebooted["rebooted"] is True and "kernel" in rebooted["reason"], rebooted
    after_boot = boot_id(host)
    assert after_boot != before_boot
    booted = inside(host, "readlink /run/booted-system").strip()
    assert booted == running(host) == profile(host) == rebooted["booted_system"]
    assert inside(host, "readlink /run/booted-system/kernel").strip().endswith("linux-6.6.2/bzImage")
    assert unit_state(host, "nixfleet-http.service") == "active"
    # Nothing to reboot for the second time.
    again = deploy(inventory, fleet, limit="sys01", nixos_deploy_reboot="if-needed")
    assert again.rc == 0 and again.stats("sys01")["changed"] == 0 and boot_id(host) == after_boot, failures(again)


def test_a_host_that_boots_the_wrong_generation_is_reported(fleet, flake, inventory):
    host = fleet["sys02"]
    flake.bump("sys02", fail="stale-boot")
    run = deploy(inventory, fleet, limit="sys02", nixos_deploy_reboot="always")
    flake.set_host("sys02", fail="none")
    assert run.rc != 0
    message = json.dumps(failures(run))
    assert "sys02" in message and "booted" in message and "instead of" in message, message
    # It really rebooted, into the generation its (never updated) boot entry names.
    assert inside(host, "readlink /run/booted-system").strip() != profile(host)


def test_nix_conf_restarts_nix_daemon_only_when_something_changed(fleet, inventory):
    host = fleet["sys01"]

    def daemon_pid():
        return inside(host, "systemctl show -p MainPID --value nix-daemon.service").strip()

    first = daemon_pid()
    args = {"settings": {"max-jobs": "3"}}
    changed = run_task(inventory, "sys01", "nixfleet.nixos.nix_conf", args, become=True)
    assert changed.rc == 0 and changed.stats("sys01")["changed"] == 1, failures(changed)
    second = daemon_pid()
    assert second not in ("0", first)
    # systemd restarted it (the unit's main process is the daemon nix_conf reports), no daemon of its own
    assert changed.results("task under test")["sys01"]["daemon_pid"] == int(second)
    assert "max-jobs = 3" in inside(host, "cat /etc/nix/nix.conf")
    assert (
        "max-jobs = 3"
        in ssh(host, "nix config show 2>/dev/null | grep '^max-jobs' || nix show-config | grep '^max-jobs'").stdout
    )
    same = run_task(inventory, "sys01", "nixfleet.nixos.nix_conf", args, become=True)
    assert same.rc == 0 and same.stats("sys01")["changed"] == 0, failures(same)
    assert daemon_pid() == second


def test_binary_cache_nginx_runs_as_a_unit(fleet, inventory, tmp_path):
    host = fleet["sys03"]
    args = {"listen_address": host.address, "port": 8091, "upload_allow": ["127.0.0.0/8"]}
    served = run_task(inventory, "sys03", "nixfleet.nixos.binary_cache", args, become=True)
    assert served.rc == 0 and served.stats("sys03")["changed"] == 1, failures(served)
    assert unit_state(host, "nixfleet-binary-cache.service") == "active"
    info = ssh(host, "busybox wget -q -O - http://%s:8091/nix-cache-info" % host.address).stdout
    assert "StoreDir: /nix/store" in info
    again = run_task(inventory, "sys03", "nixfleet.nixos.binary_cache", args, become=True)
    assert again.rc == 0 and again.stats("sys03")["changed"] == 0, failures(again)


def test_a_stale_switch_to_configuration_lock_is_named_and_nothing_changes(fleet, flake, inventory):
    host = fleet["sys02"]
    before = (running(host), profile(host))
    # A process an earlier activation started kept NixOS's lock (deploy-rs#390).
    inside(
        host,
        "mkdir -p /run/nixos && systemd-run --unit=leftover-lock-holder flock "
        "/run/nixos/switch-to-configuration.lock sleep 600",
    )
    inside(host, "for i in $(seq 50); do systemctl is-active -q leftover-lock-holder && exit 0; sleep 0.1; done")
    try:
        flake.bump("sys02")
        run = deploy(inventory, fleet, limit="sys02")
        assert run.rc != 0
        message = json.dumps(failures(run))
        assert "/run/nixos/switch-to-configuration.lock" in message and "sleep 600" in message, message
        assert (running(host), profile(host)) == before
    finally:
        inside(host, "systemctl stop leftover-lock-holder")
    run = deploy(inventory, fleet, limit="sys02")
    assert run.rc == 0, failures(run)
    assert running(host) != before[0]


def test_systemd_fleet_is_gone_after_down(tmp_path):
    state = tmp_path / "state"
    hosts = nsfleet.up(state, 1, first_address="127.0.41.21", names=["sysgone"], systemd=True)
    try:
        supervisor = hosts[0].unshare_pid
        init = nsfleet.systemd_fleet.init_pid(supervisor)
        namespaces = [nsfleet._pid_namespace(init)]
        first_boot = boot_id(hosts[0])
        inside(hosts[0], "systemctl reboot")
        deadline = time.monotonic() + 30
        while nsfleet.systemd_fleet.init_pid(supervisor) in (0, init) and time.monotonic() < deadline:
            time.sleep(0.2)
        rebooted = nsfleet.systemd_fleet.init_pid(supervisor)
        assert rebooted not in (0, init)
        # (The kernel may give the new boot's PID namespace the old one's freed inode number.)
        namespaces.append(nsfleet._pid_namespace(rebooted))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if boot_id(hosts[0]) != first_boot:
                    break
            except subprocess.CalledProcessError:
                pass
            time.sleep(0.2)
        assert boot_id(hosts[0]) != first_boot
    except BaseException:
        nsfleet.down(state)
        raise
    nsfleet.down(state)
    assert [nsfleet.processes_in(ns) for ns in namespaces] == [[], []] and not state.exists()
    assert not any(p.exists() for p in (Path("/proc/%d" % supervisor),))
    with open("/proc/self/mountinfo") as mounts:
        assert "nixfleet-sysgone" not in mounts.read()


def test_switch_inhibitors_refuse_the_live_switch_and_boot_plus_reboot_is_the_opt_in(fleet, flake, inventory):
    host = fleet["sys01"]
    before = (running(host), profile(host))
    flake.bump("sys01", inhibitors="systemd 258")
    refused = deploy(inventory, fleet, limit="sys01")
    assert refused.rc != 0
    message = json.dumps(failures(refused))
    assert "switch inhibitors" in message and "systemd 258" in message and "nixos_deploy_on_inhibited" in message
    assert "rolled back" not in message
    assert (running(host), profile(host)) == before
    before_boot = boot_id(host)
    run = deploy(inventory, fleet, limit="sys01", nixos_deploy_on_inhibited="boot")
    assert run.rc == 0, failures(run)
    switched = run.results("Copy and switch to the system")["sys01"]
    assert switched["inhibited"] is True and switched["action"] == "boot"
    assert run.results("Reboot")["sys01"]["rebooted"] is True
    new = profile(host)
    assert new != before[1] and boot_id(host) != before_boot
    assert inside(host, "readlink /run/booted-system").strip() == running(host) == new
    assert inside(host, "cat /run/current-system/switch-inhibitors").strip() == "systemd 258"
    again = deploy(inventory, fleet, limit="sys01", nixos_deploy_on_inhibited="boot")
    assert again.rc == 0 and again.stats("sys01")["changed"] == 0, failures(again)


def test_the_fixture_honours_nixos_install_bootloader(fleet):
    host = fleet["sys02"]
    path = profile(host)
    assert path.startswith("/nix/store/")
    inside(host, "NIXOS_INSTALL_BOOTLOADER=1 %s/bin/switch-to-configuration boot" % path)
    assert inside(host, "cat /nix/var/nixfleet/boot/bootloader-installs").split() == [path]
    inside(host, "%s/bin/switch-to-configuration boot" % path)  # without it, no reinstall
    assert inside(host, "cat /nix/var/nixfleet/boot/bootloader-installs").split() == [path]


def test_install_bootloader_reaches_the_activation_in_its_transient_unit(fleet, flake, inventory):
    host = fleet["sys02"]
    flake.bump("sys02")
    run = deploy(inventory, fleet, limit="sys02", nixos_deploy_install_bootloader=True)
    assert run.rc == 0, failures(run)
    new = profile(host)
    assert inside(host, "tail -n 1 /nix/var/nixfleet/boot/bootloader-installs").strip() == new


WRAPPER = "/run/wrapped/sudo"  # (only sudo is mapped: a sudo by another path, as NixOS's /run/wrappers/bin/sudo)


def test_deploy_rs_sudo_and_colmena_privilege_escalation_command_are_the_become_command(fleet, flake, inventory):
    """deploy-rs ``sudo = "/run/wrapped/sudo -u"`` (sys01) and colmena ``privilegeEscalationCommand =
    [ "/run/wrapped/sudo" "-H" "--" ]`` (sys02), a sudo that logs its calls: Ansible becomes root through it."""
    script = '#!/bin/sh\necho "$*" >> %s.log\nexec /usr/bin/sudo "$@"\n' % WRAPPER
    for name in ("sys01", "sys02"):
        # (the log is written by the deploy user, before sudo)
        inside(
            fleet[name],
            "mkdir -p /run/wrapped; cat > %s <<'EOF'\n%sEOF\nchmod 0755 %s; : > %s.log; chmod 0666 %s.log"
            % (WRAPPER, script, WRAPPER, WRAPPER, WRAPPER),
        )
    flake.bump("sys01", deploy_rs={"sudo": "%s -u" % WRAPPER})
    flake.bump("sys02", colmena={"privilegeEscalationCommand": [WRAPPER, "-H", "--"]})
    try:
        run = deploy(inventory, fleet)
    finally:
        flake.set_host("sys01", deploy_rs={})
        flake.set_host("sys02", colmena={})
    assert run.rc == 0, failures(run)
    for name in ("sys01", "sys02"):
        log = inside(fleet[name], "cat %s.log 2>/dev/null || true" % WRAPPER)
        assert "-u root" in log, (name, log)  # every privileged command went through it


def test_an_activation_that_cuts_every_ssh_session_is_confirmed_over_a_fresh_one(fleet, flake, inventory):
    host = fleet["sys02"]
    old = running(host)
    version = flake.bump("sys02", fail="drop-sessions")
    try:
        run = deploy(inventory, fleet, limit="sys02")
    finally:
        flake.set_host("sys02", fail="none")
    assert run.rc == 0, failures(run)
    time.sleep(CONFIRM + 2)  # a false rollback would have happened by now
    assert running(host) != old and profile(host) == running(host) and served_version(host) == version


def test_a_deploy_rs_profile_of_the_deploy_user_is_set_and_activated_as_that_user(fleet, flake, inventory):
    """deploy-rs ``profiles.tools.user = "deploy"`` on sys01 (ssh as deploy, sudo to root): root runs the
    profile's transaction in a transient unit, and the profile is set and activated as deploy, in
    deploy-rs' per-user directory (made for deploy when missing); a second deploy changes nothing."""
    host = fleet["sys01"]
    flake.set_host("sys01", deploy_rs_profiles={"tools": {"version": "1", "user": "deploy"}})
    try:
        run = deploy(inventory, fleet, limit="sys01")
        again = deploy(inventory, fleet, limit="sys01")
    finally:
        flake.set_host("sys01", deploy_rs_profiles={})
    assert run.rc == 0, failures(run)
    result = run.results("Deploy the node's other deploy-rs profiles")["sys01"]["results"][0]
    assert (result["changed"], result["activated"], result["confirmation"]) == (True, True, "confirmed")
    path = "/nix/var/nix/profiles/per-user/deploy/tools"
    assert inside(host, "stat -c %U " + path + " $(dirname " + path + ")").split() == ["deploy", "deploy"]
    assert inside(host, "readlink %s" % path).strip() == "tools-1-link"
    assert inside(host, "%s/bin/tools" % path).strip() == "tools 1"
    # the fixture's deploy-rs-activate: who ran it, which version, for which PROFILE (/run: root's only)
    assert inside(host, "cat /nix/var/nix/profiles/per-user/deploy/deploy-rs-tools").strip() == "deploy 1 %s" % path
    assert inside(host, "test -e /run/deploy-rs-tools && echo there || echo absent").strip() == "absent"
    assert again.rc == 0 and again.stats("sys01")["changed"] == 0, failures(again)
