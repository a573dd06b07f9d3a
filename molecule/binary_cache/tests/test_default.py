"""Verify: nginx serves the cache on the host's address, the key stayed on the controller (0600),
and a path pushed with nix copy is served signed."""

import json
import os
import subprocess
import urllib.request


def test_nginx_serves_the_cache(host):
    url = "http://%s:8081" % host.ansible.get_variables()["ansible_host"]
    with urllib.request.urlopen(url + "/nix-cache-info", timeout=5) as response:
        assert "StoreDir: /nix/store" in response.read().decode()
    assert host.file("/etc/nixfleet/binary-cache-nginx.conf").contains("dav_methods PUT")


def test_key_is_on_the_controller_only(host):
    name = host.backend.get_hostname()
    key = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "keys", "%s.sec" % name)
    assert oct(os.stat(key).st_mode)[-3:] == "600"
    assert not host.run("grep -rl %s /etc /var/lib /var/cache" % open(key).read().split(":")[1][:20]).stdout


def test_a_pushed_path_is_served_signed(host, tmp_path):
    name = host.backend.get_hostname()
    url = "http://%s:8081" % host.ansible.get_variables()["ansible_host"]
    key = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "keys", "%s.sec" % name)
    (tmp_path / "hello").write_text("served by molecule\n")
    path = subprocess.run(
        ["nix-store", "--add", str(tmp_path / "hello")], stdout=subprocess.PIPE, universal_newlines=True, check=True
    ).stdout.strip()
    nix = ["nix", "--extra-experimental-features", "nix-command"]
    subprocess.run(nix + ["store", "sign", "--key-file", key, path], check=True)
    subprocess.run(nix + ["copy", "--to", url, path], check=True)
    data = json.loads(
        subprocess.run(nix + ["path-info", "--json", "--store", url, path], stdout=subprocess.PIPE, check=True).stdout
    )
    info = data[path] if isinstance(data, dict) else data[0]  # a map from Nix 2.19, a list before
    assert any(sig.startswith("%s-1:" % name) for sig in info["signatures"])
