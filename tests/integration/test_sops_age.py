"""sops-nix age keys on the fleet: enrol, idempotence, no key in any output, drift, decryptability,
bad input, and ssh host keys converted like ssh-to-age (node04 has no Python)."""

import subprocess

import pytest
from fleetctl import inside
from playbook_helpers import leaked_lines, run_playbook, run_playbook_text, run_task, write_fleet_inventory
from sops_files import age_keygen, make_repo, write_sops_config, write_sops_file

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets.age_keys import ssh_to_age_identity

pytestmark = pytest.mark.integration

HOSTS = ["node01", "node02", "node03", "node04"]
KEY_FILE = "/var/lib/sops-nix/key.txt"


class Repo:
    """A repository as a user has it (see sops_files.make_repo)."""

    def __init__(self, root):
        self.root = root
        self.recipients = make_repo(root, HOSTS)
        self.admin = self.recipients.pop("admin")

    def key(self, host):
        return (self.root / "keys" / ("%s.txt" % host)).read_text()

    def write_config(self, leave_out=()):
        write_sops_config(self.root, self.admin, self.recipients, leave_out)

    def vars(self, **extra):
        return dict(
            {
                "sops_age_key_src": "%s/keys/{{ inventory_hostname }}.txt" % self.root,
                "sops_age_sops_config": str(self.root / ".sops.yaml"),
                "sops_age_secrets_files": ["secrets/{{ inventory_hostname }}.yaml"],
            },
            **extra,
        )


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return Repo(tmp_path_factory.mktemp("sops-repo"))


@pytest.fixture(scope="module")
def inventory(session_fleet, session_flake, tmp_path_factory):
    return write_fleet_inventory(tmp_path_factory.mktemp("sops-inventory"), session_fleet, session_flake)


def on_host(session_fleet, name, command):
    return inside(session_fleet[name], command).strip()


def key_state(session_fleet, name):
    return on_host(session_fleet, name, "stat -c '%%u %%g %%a' %s; cat %s" % (KEY_FILE, KEY_FILE))


def secret_words(repo, *extra_keys):
    """Every identity string of the repo (and ``extra_keys``), in the forms a leak could take."""
    texts = [repo.key(h) for h in HOSTS] + [(repo.root / "admin.txt").read_text()] + list(extra_keys)
    words = [line.strip() for text in texts for line in text.splitlines() if line.startswith("AGE-SECRET-KEY-")]
    return words + [w[len("AGE-SECRET-KEY-1") :].lower() for w in words]


def test_check_mode_writes_nothing(session_fleet, repo, inventory):
    run = run_playbook(inventory, "sops_age.yml", "--check", extra_vars=repo.vars())
    assert run.rc == 0, run.data
    for host in HOSTS:
        assert run.results("Place the host's age key")[host]["changed"]
        assert run.results("Check that .sops.yaml")[host]["drift"] is False  # with the key it would place
        assert on_host(session_fleet, host, "test -e /var/lib/sops-nix && echo present || echo absent") == "absent"


def test_enrol_every_host(session_fleet, repo, inventory):
    run = run_playbook(inventory, "sops_age.yml", extra_vars=repo.vars())
    assert run.rc == 0, run.data
    placed = run.results("Place the host's age key")
    for host in HOSTS:
        assert placed[host]["changed"] and placed[host]["recipients"] == [repo.recipients[host]]
        assert key_state(session_fleet, host) == "0 0 600\n" + repo.key(host).strip()
        assert on_host(session_fleet, host, "stat -c '%a' /var/lib/sops-nix") == "700"
        assert run.results("Check that .sops.yaml")[host]["drift"] is False
        decrypt = run.results("Prove the host's identity decrypts")[host]
        assert decrypt["files"] == [
            {"file": "secrets/%s.yaml" % host, "decryptable": True, "recipient": repo.recipients[host], "reason": "ok"}
        ]


def test_second_run_changes_nothing(repo, inventory):
    run = run_playbook(inventory, "sops_age.yml", extra_vars=repo.vars())
    assert run.rc == 0
    assert all(run.stats(h)["changed"] == 0 for h in HOSTS), run.data["stats"]


def run_text(inventory, *args, extra_vars):
    return run_playbook_text(inventory, "sops_age.yml", *args, extra_vars=extra_vars)


def test_no_key_material_in_verbose_diff_output(session_fleet, repo, inventory, tmp_path):
    """-vvv --diff, in check mode and for real (replace node01's key, then put it back): no key anywhere."""
    new_key = tmp_path / "new.txt"
    new_recipient = age_keygen(new_key)
    words = secret_words(repo, new_key.read_text())
    before = key_state(session_fleet, "node01")
    replace = repo.vars(sops_age_force=True, sops_age_sops_config="")
    replace["sops_age_key"] = "{{ lookup('file', '%s') if inventory_hostname == 'node01' else '' }}" % new_key
    replace["sops_age_key_src"] = (
        "{{ '' if inventory_hostname == 'node01' else '%s/keys/' ~ inventory_hostname ~ '.txt' }}" % repo.root
    )
    rc, text = run_text(inventory, "--check", "--diff", "-vvv", extra_vars=replace)
    assert rc == 0, text
    assert key_state(session_fleet, "node01") == before  # check mode changed nothing
    assert "-  - %s" % repo.recipients["node01"] in text and "+  - %s" % new_recipient in text  # the diff
    assert leaked_lines(text, words) == []

    rc, text = run_text(inventory, "--diff", "-vvv", extra_vars=replace)
    assert rc == 0, text
    assert key_state(session_fleet, "node01") == "0 0 600\n" + new_key.read_text().strip()
    assert leaked_lines(text, words) == []

    rc, text = run_text(inventory, "--diff", "-vvv", extra_vars=repo.vars(sops_age_force=True))
    assert rc == 0 and key_state(session_fleet, "node01") == before
    assert "+  - %s" % repo.recipients["node01"] in text and "-  - %s" % new_recipient in text
    assert leaked_lines(text, words) == []
    rc, text = run_text(inventory, "--diff", "-vvv", extra_vars=repo.vars())
    assert rc == 0 and "changed=0" in text
    assert leaked_lines(text, words) == []


def test_drift_in_sops_yaml_is_reported_with_the_host(repo, inventory):
    repo.write_config(leave_out=["node02"])
    try:
        run = run_playbook(inventory, "sops_age.yml", extra_vars=repo.vars())
        assert run.rc != 0
        check = run.results("Check that .sops.yaml")
        assert check["node02"]["failed"] and check["node02"]["drift"]
        assert check["node02"]["msg"].startswith(
            "node02 (recipient %s): .sops.yaml drift: secrets/node02.yaml: "
            "creation_rules[1]" % repo.recipients["node02"]
        )
        assert all(not check[h].get("failed") for h in HOSTS if h != "node02")
        warn = run_playbook(inventory, "sops_age.yml", extra_vars=repo.vars(sops_age_fail_on_drift=False))
        assert warn.rc == 0
        assert warn.results("Check that .sops.yaml")["node02"]["warnings"]
    finally:
        repo.write_config()


def test_a_host_that_cannot_decrypt_is_named(repo, inventory):
    path = repo.root / "secrets" / "node03.yaml"
    original = path.read_text()
    write_sops_file(path, [repo.admin])  # .sops.yaml lists node03, but the file was never updated for it
    try:
        run = run_playbook(inventory, "sops_age.yml", extra_vars=repo.vars())
        result = run.results("Prove the host's identity decrypts")["node03"]
        assert run.rc != 0 and result["failed"]
        assert (
            result["msg"] == "node03 cannot decrypt: secrets/node03.yaml (the file is not encrypted for %s "
            "(it lists 1 other recipients))" % repo.recipients["node03"]
        )
        assert all(
            not run.results("Prove the host's identity decrypts")[h].get("failed") for h in HOSTS if h != "node03"
        )
    finally:
        path.write_text(original)


def key_task(inventory, host, **args):
    run = run_task(inventory, host, "nixfleet.nixos.sops_age_key", args)
    return run.rc, run.results("task under test")[host]


def test_bad_input_changes_nothing(session_fleet, repo, inventory, tmp_path):
    before = key_state(session_fleet, "node01")
    key = repo.key("node01").strip().splitlines()[-1]
    typo = key[:-2] + ("Q" if key[-2] != "Q" else "P") + key[-1]
    rc, result = key_task(inventory, "node01", content=typo, force=True)
    assert rc != 0 and result["msg"].startswith("invalid age key, nothing was changed: line 1 of content")
    assert "checksum" in result["msg"] and key[16:] not in result["msg"]
    rc, result = key_task(inventory, "node01", src=str(tmp_path / "missing.txt"))
    assert rc != 0 and "no such file on the controller" in result["msg"]
    other = tmp_path / "other.txt"
    age_keygen(other)
    rc, result = key_task(inventory, "node01", src=str(other))
    assert (
        rc != 0
        and "already holds a different age identity (recipients: %s); set force: true" % repo.recipients["node01"]
        in result["msg"]
    )
    assert key_state(session_fleet, "node01") == before


def test_missing_sops_files_are_named(repo, inventory, tmp_path):
    missing = tmp_path / "nowhere" / ".sops.yaml"
    run = run_task(
        inventory,
        "node01",
        "nixfleet.nixos.sops_config_check",
        {"config": str(missing), "files": ["secrets/node01.yaml"], "recipients": [repo.recipients["node01"]]},
    )
    assert run.rc != 0
    assert (
        run.results("task under test")["node01"]["msg"]
        == ".sops.yaml %s cannot be read: No such file or directory" % missing
    )
    run = run_task(
        inventory,
        "node04",
        "nixfleet.nixos.sops_decrypt_check",
        {"files": ["secrets/gone.yaml"], "base_dir": str(repo.root)},
    )
    assert run.rc != 0
    assert (
        run.results("task under test")["node04"]["msg"]
        == "sops file %s/secrets/gone.yaml cannot be read: No such file or directory" % repo.root
    )


def test_wrong_permissions_are_an_error_unless_forced(session_fleet, repo, inventory):
    inside(session_fleet["node04"], "chmod 0644 %s" % KEY_FILE)
    before = key_state(session_fleet, "node04")
    rc, result = key_task(inventory, "node04", src=str(repo.root / "keys" / "node04.txt"))
    assert rc != 0 and "mode 0644" in result["msg"] and "rotate it" in result["msg"]
    assert key_state(session_fleet, "node04") == before
    rc, result = key_task(inventory, "node04", src=str(repo.root / "keys" / "node04.txt"), force=True)
    assert rc == 0 and result["changed"] and result["action"] == "fix-permissions"
    assert key_state(session_fleet, "node04") == "0 0 600\n" + repo.key("node04").strip()


def test_ssh_host_keys_convert_like_ssh_to_age(session_fleet, inventory, tmp_path):
    run = run_task(inventory, "nixos", "nixfleet.nixos.age_recipient", {"source": "ssh_host_key"})
    assert run.rc == 0
    for host in HOSTS:
        private = session_fleet[host].root + "/etc/ssh/ssh_host_ed25519_key"
        with open(private) as handle:
            identity_file = tmp_path / ("%s.id" % host)
            identity_file.write_text(ssh_to_age_identity(handle.read()).encode() + "\n")
        # age-keygen (not our code) says which recipient that identity has.
        expected = subprocess.run(
            ["age-keygen", "-y", str(identity_file)], stdout=subprocess.PIPE, universal_newlines=True, check=True
        ).stdout.strip()
        assert run.results("task under test")[host]["recipient"] == expected
        secrets = tmp_path / ("%s.yaml" % host)
        write_sops_file(secrets, [expected])
        check = run_task(
            inventory, host, "nixfleet.nixos.sops_decrypt_check", {"files": [str(secrets)], "source": "ssh_host_key"}
        )
        assert check.rc == 0 and check.results("task under test")[host]["files"][0]["decryptable"]


def test_the_identity_goes_where_the_hosts_configuration_declares_it(session_fleet, session_flake, repo, inventory):
    """A configuration with sops-nix says where its identity is: node01 a keyFile of its own, node02 only
    ssh host keys. The role follows what the flake inventory read (no sops_age_* variable given)."""
    declared = "/var/lib/declared-sops/age.key"
    session_flake.set_host("node01", sops_age={"keyFile": declared})
    session_flake.set_host("node02", sops_age={"sshKeyPaths": ["/etc/ssh/ssh_host_ed25519_key"]})
    try:
        before = on_host(session_fleet, "node01", "cat %s" % KEY_FILE)
        run = run_playbook(
            inventory,
            "sops_age.yml",
            limit="node01,node02",
            extra_vars={"sops_age_key_src": "%s/keys/{{ inventory_hostname }}.txt" % repo.root},
        )
        assert run.rc == 0, run.stderr
        assert (
            on_host(session_fleet, "node01", "stat -c '%%a' %s; cat %s" % (declared, declared))
            == "600\n" + repo.key("node01").strip()
        )
        assert on_host(session_fleet, "node01", "cat %s" % KEY_FILE) == before  # the conventional path untouched
        recipients = run.results("Read the host's age recipient")
        with open(session_fleet["node02"].root + "/etc/ssh/ssh_host_ed25519_key") as handle:
            ssh_identity = ssh_to_age_identity(handle.read())
        assert recipients["node02"]["source"] == "ssh_host_key"
        assert recipients["node02"]["recipients"] == [ssh_identity.recipient]
    finally:
        session_flake.set_host("node01", sops_age=None)
        session_flake.set_host("node02", sops_age=None)
        inside(session_fleet["node01"], "rm -rf /var/lib/declared-sops")
