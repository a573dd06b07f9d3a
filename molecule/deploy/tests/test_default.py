"""Verify: each host runs generation 1 of its own system, and its service answers with it."""
import urllib.request


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
