import pytest

from ansible_collections.nixfleet.nixos.plugins.plugin_utils.ssh_target import SshTarget, remote_argv

T = SshTarget(host="127.0.0.11", user="root", port=2222, private_key="/k/id", known_hosts="/k/known_hosts",
              extra_args=("-o", "ConnectTimeout=5"), name="node01")


def test_same_options_for_ssh_and_nix():
    opts = ["-o", "BatchMode=yes", "-p", "2222", "-i", "/k/id", "-o", "IdentitiesOnly=yes",
            "-o", "UserKnownHostsFile=/k/known_hosts", "-o", "ConnectTimeout=5"]
    assert T.options() == opts
    assert T.nix_sshopts() == " ".join(opts)
    assert T.nix_env() == {"NIX_SSHOPTS": " ".join(opts)}
    assert T.ssh_argv("true") == ["ssh"] + opts + ["root@127.0.0.11", "--", "true"]


def test_store_url_and_destination():
    assert T.store_url() == "ssh-ng://root@127.0.0.11"
    assert T.store_url("ssh") == "ssh://root@127.0.0.11"
    assert SshTarget(host="::1").destination == "[::1]"
    assert SshTarget(host="web").store_url() == "ssh-ng://web"
    with pytest.raises(ValueError):
        T.store_url("https")


def test_fresh_connection_disables_control_master():
    argv = SshTarget(host="h", extra_args=("-o", "ControlMaster=auto", "-o", "ControlPath=/tmp/cp")).ssh_argv(
        "true", fresh=True)
    # ssh keeps the first value of an option: the fresh ones come first.
    assert argv[:5] == ["ssh", "-o", "ControlMaster=no", "-o", "ControlPath=none"]
    assert argv.index("ControlMaster=auto") > argv.index("ControlMaster=no")


def test_whitespace_cannot_go_through_nix_sshopts():
    t = SshTarget.from_args_string("h", "-o 'ProxyCommand=ssh -W %h:%p bastion'", name="web")
    assert t.extra_args == ("-o", "ProxyCommand=ssh -W %h:%p bastion")
    with pytest.raises(ValueError, match="web: ssh option"):
        t.nix_sshopts()


def test_remote_argv_quotes():
    argv = remote_argv(SshTarget(host="h"), ["echo", "a b", "$HOME"])
    assert argv[-1] == "echo 'a b' '$HOME'"
