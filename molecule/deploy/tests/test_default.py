"""Verify: each host runs generation 1 of its own system, and its service answers with it; a
``systemd: true`` platform booted systemd, and the role switched it as ``deploy`` through sudo, in a
transient unit."""

import os
import urllib.request

import yaml


def platform(name):
    with open(os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "molecule.yml")) as f:
        return next(p for p in yaml.safe_load(f)["platforms"] if p["name"] == name)


def test_running_its_system(host):
    name = host.backend.get_hostname()
    current = host.check_output("readlink /run/current-system")
    assert current.endswith("-nixos-system-%s-1" % name)
    assert host.check_output("readlink /nix/var/nix/profiles/system") == "system-1-link"
    assert host.check_output("readlink -f /nix/var/nix/profiles/system") == current
    assert host.file("/run/current-system/nixos-version").content_string.strip() == "1"


def test_service_answers(host):
    address = host.ansible.get_variables()["ansible_host"]
    with urllib.request.urlopen("http://%s:8080/" % address, timeout=5) as response:
        assert response.read().decode() == "%s 1\n" % host.backend.get_hostname()


def test_systemd_platforms_boot_systemd_and_switch_in_a_transient_unit(host):
    wanted = platform(host.backend.get_hostname())
    systemd = bool(wanted.get("systemd")) and os.environ.get("NIXFLEET_MOLECULE_SYSTEMD", "1") != "0"
    assert (host.file("/proc/1/comm").content_string.strip() == "systemd") is systemd
    if systemd:
        journal = host.check_output("journalctl -b --no-pager -o cat")
        assert "Started nixfleet-" in journal and "[systemd-run] /usr/bin/sh /run/nixfleet/" in journal
        assert "deploy : " in journal and "COMMAND=/bin/sh -c" in journal  # sudo, as deploy
