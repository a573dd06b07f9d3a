import subprocess

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import raw
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.ssh_target import SshTarget

T = SshTarget(
    host="127.0.0.11",
    user="root",
    port=2222,
    private_key="/k/id",
    known_hosts="/k/known_hosts",
    extra_args=("-o", "ConnectTimeout=5"),
    name="node01",
)


def test_same_options_for_ssh_and_nix():
    opts = [
        "-o",
        "BatchMode=yes",
        "-p",
        "2222",
        "-i",
        "/k/id",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "UserKnownHostsFile=/k/known_hosts",
        "-o",
        "ConnectTimeout=5",
    ]
    assert T.options() == opts
    assert T.nix_sshopts() == " ".join(opts)
    assert T.nix_env() == {"NIX_SSHOPTS": " ".join(opts)}
    assert T.ssh_argv(raw("true")) == ["ssh"] + opts + ["root@127.0.0.11", "--", "true"]


def test_store_url_and_destination():
    assert T.store_url() == "ssh-ng://root@127.0.0.11"
    assert T.store_url("ssh") == "ssh://root@127.0.0.11"
    assert SshTarget(host="::1").destination == "[::1]"
    assert SshTarget(host="web").store_url() == "ssh-ng://web"
    with pytest.raises(ValueError):
        T.store_url("https")


def test_fresh_connection_disables_control_master():
    argv = SshTarget(host="h", extra_args=("-o", "ControlMaster=auto", "-o", "ControlPath=/tmp/cp")).ssh_argv(
        raw("true"), fresh=True
    )
    # ssh keeps the first value of an option: the fresh ones come first.
    assert argv[:5] == ["ssh", "-o", "ControlMaster=no", "-o", "ControlPath=none"]
    assert argv.index("ControlMaster=auto") > argv.index("ControlMaster=no")


def test_whitespace_cannot_go_through_nix_sshopts():
    t = SshTarget.from_args_string("h", "-o 'ProxyCommand=ssh -W %h:%p bastion'", name="web")
    assert t.extra_args == ("-o", "ProxyCommand=ssh -W %h:%p bastion")
    with pytest.raises(ValueError, match="web: ssh option"):
        t.nix_sshopts()


@pytest.mark.host_tools
def test_fresh_connection_prefers_the_cheap_key_exchange_and_keeps_the_defaults():
    argv = SshTarget(host="h", port=2222).ssh_argv(fresh=True)
    # The real ssh client reads the options: X25519 first, the default algorithms still after it.
    config = subprocess.run(
        ["ssh", "-G"] + argv[1:], stdout=subprocess.PIPE, universal_newlines=True, check=True
    ).stdout
    kex = [line.split()[1] for line in config.splitlines() if line.startswith("kexalgorithms ")][0].split(",")
    assert kex[0] == "curve25519-sha256" and "sntrup761x25519-sha512@openssh.com" in kex
    # A user's own choice wins, and a connection that may reuse a master is left alone.
    mine = SshTarget(host="h", extra_args=("-o", "KexAlgorithms=sntrup761x25519-sha512@openssh.com"))
    assert "KexAlgorithms=^curve25519-sha256" not in mine.ssh_argv(fresh=True)
    assert "KexAlgorithms=^curve25519-sha256" not in SshTarget(host="h").ssh_argv()
