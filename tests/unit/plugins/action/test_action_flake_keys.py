"""plugins/action/flake_keys.py: the deployment.keys of the play's hosts in one real ``nix eval`` of
a small local flake; when that fails, each host alone, so only the broken host is named."""

import pytest


from action_harness import RecordingNix, run_action

FLAKE = """{
  outputs = { self }: {
    nixosConfigurations.web.config.deployment.keys."api-token" = {
      text = "s3cret"; destDir = "/run/keys"; user = "api"; keyFile = null; };
    nixosConfigurations.db.config.deployment.keys = { };
    nixosConfigurations.broken.config.deployment.keys = throw "keys of broken are broken";
  };
}
"""


@pytest.fixture
def flake(tmp_path):
    (tmp_path / "flake.nix").write_text(FLAKE)
    return "path:%s" % tmp_path


def hostvars(flake, *hosts, **extra):
    return {
        h: dict(
            {"nixos_colmena_keys": ["api-token"], "nixos_flake": flake, "nixos_attr": 'nixosConfigurations."%s"' % h},
            **extra.get(h, {}),
        )
        for h in hosts
    }


@pytest.mark.host_tools
def test_keys_of_every_host_in_one_evaluation(flake):
    nix = RecordingNix()
    result = run_action(
        "flake_keys", {"hosts": ["web", "db"]}, task_vars={"hostvars": hostvars(flake, "web", "db")}, nix=nix
    )
    assert not result.get("failed"), result
    assert len(nix.calls) == 1
    assert result["failed_hosts"] == {} and result["msg"] == "read the keys of 2 hosts"
    assert result["host_keys"] == {
        "db": {},
        "web": {"api-token": {"text": "s3cret", "destDir": "/run/keys", "user": "api", "keyFile": None}},
    }
    assert result["changed"] is False


@pytest.mark.host_tools
def test_a_host_whose_keys_do_not_evaluate_is_named_alone(flake):
    nix = RecordingNix()
    result = run_action(
        "flake_keys",
        {},
        nix=nix,
        task_vars={"ansible_play_batch": ["web", "broken"], "hostvars": hostvars(flake, "web", "broken")},
    )
    assert not result.get("failed"), result
    assert len(nix.calls) == 3  # all at once (fails), then each host alone
    assert list(result["host_keys"]) == ["web"]
    assert list(result["failed_hosts"]) == ["broken"]
    message = result["failed_hosts"]["broken"]
    assert message.startswith('nixosConfigurations."broken".config.deployment.keys does not evaluate: ')
    assert "keys of broken are broken" in message


def test_hosts_without_keys_or_with_an_evaluation_error_are_not_evaluated(flake):
    def no_nix(options):
        raise AssertionError("Nix was called")

    vars_ = hostvars(flake, "web", "db", "gone")
    vars_["web"]["nixos_colmena_keys"] = []
    vars_["db"]["nixos_eval_error"] = "does not evaluate"
    del vars_["gone"]["nixos_attr"]
    result = run_action(
        "flake_keys", {"hosts": ["web", "db", "gone", "unknown"]}, nix=no_nix, task_vars={"hostvars": vars_}
    )
    assert result == dict(result, changed=False, host_keys={}, failed_hosts={}, msg="read the keys of 0 hosts")
