"""colmena's deployment.keys (and the deploy role's nixos_deploy_keys) uploaded by deploy.yml on the
fleet: before or after the switch as asked, atomically with owner and mode, unchanged when identical,
check mode and a diff without the secret, never in any output; a bad key fails its host before
anything is switched.

Hosts: key01 (a colmena host whose flake has keys), key02 (plain, keys from the role variable).
"""

import json
import os

import pytest
import yaml

from fleetctl import FixtureFlake, inside, system_state
from fleet_fixtures import own_fleet
from playbook_helpers import failures, leaked_lines, run_playbook, run_playbook_text, write_fleet_inventory

pytestmark = pytest.mark.integration

SECRETS = ["colmena-text-secret-41", "from-a-key-file-42", "made-by-a-command-43", "role-var-secret-44"]
MARKER = "/tmp/nixfleet-key-templated"
TEMPLATE = "{{ lookup('pipe', 'touch %s') }}" % MARKER


fleet = own_fleet("keys", 2, [], "127.0.31.11", names=["key01", "key02"])


@pytest.fixture(scope="module")
def key_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("controller-keys") / "app.key"
    path.write_text(SECRETS[1] + "\n")
    return path


def colmena_keys(key_file):
    return {
        "token": {"text": SECRETS[0]},
        "app": {
            "keyFile": str(key_file),
            "destDir": "/run/keys/app",
            "user": "nobody",
            "group": "nogroup",
            "permissions": "0640",
            "uploadAt": "post-activation",
        },
        "made": {"keyCommand": ["/usr/bin/printf", "%s", SECRETS[2]], "name": "made.env"},
        "template": {"text": TEMPLATE},  # a flake's text is never templated
    }


@pytest.fixture(scope="module")
def flake(fleet, key_file, tmp_path_factory):
    flake = FixtureFlake.create(
        tmp_path_factory.mktemp("keys-flake") / "flake", fleet, {"key01": "colmena", "key02": "plain"}
    )
    flake.set_host("key01", colmena={"keys": colmena_keys(key_file)})
    return flake


@pytest.fixture(scope="module")
def inventory(fleet, flake, tmp_path_factory):
    directory = tmp_path_factory.mktemp("keys-inventory")
    inventory = write_fleet_inventory(directory, fleet, flake)
    host_vars = directory / "host_vars" / "key02.yml"
    settings = yaml.safe_load(host_vars.read_text())
    settings["nixos_deploy_keys"] = {"role": {"text": SECRETS[3], "destDir": "/var/lib/keys"}}
    host_vars.write_text(yaml.safe_dump(settings))
    return inventory


def key_state(host, path):
    """(owner:group, mode, content) of a file on the host, or None."""
    out = inside(host, "if [ -f %s ]; then stat -c '%%U:%%G %%a' %s; cat %s; fi" % (path, path, path))
    if not out:
        return None
    first, _sep, content = out.partition("\n")
    owner, mode = first.split()
    return owner, mode, content


def test_keys_are_uploaded_with_owner_and_mode(fleet, flake, inventory):
    if os.path.exists(MARKER):
        os.unlink(MARKER)
    run = run_playbook(inventory, "deploy.yml")
    assert run.rc == 0, failures(run)
    key01, key02 = fleet["key01"], fleet["key02"]
    assert key_state(key01, "/run/keys/token") == ("root:root", "600", SECRETS[0])
    assert key_state(key01, "/run/keys/app/app") == ("nobody:nogroup", "640", SECRETS[1] + "\n")
    assert key_state(key01, "/run/keys/made.env") == ("root:root", "600", SECRETS[2])
    assert key_state(key01, "/run/keys/template") == ("root:root", "600", TEMPLATE)
    assert not os.path.exists(MARKER)  # the lookup never ran on the controller
    # the role's variable, for a flake without colmena
    assert key_state(key02, "/var/lib/keys/role") == ("root:root", "600", SECRETS[3])
    switch = run.results("Copy and switch to the system")
    assert sorted(switch["key01"]["keys_changed"]) == [
        "/run/keys/app/app",
        "/run/keys/made.env",
        "/run/keys/template",
        "/run/keys/token",
    ]
    # no temporary file is left beside the keys
    listed = inside(key01, "ls -A /run/keys /run/keys/app").split()
    assert listed == ["/run/keys:", "app", "made.env", "template", "token", "/run/keys/app:", "app"]


def test_identical_keys_change_nothing(fleet, inventory):
    run = run_playbook(inventory, "deploy.yml")
    assert run.rc == 0, failures(run)
    for name in ("key01", "key02"):
        assert run.stats(name)["changed"] == 0, name
        assert run.results("Copy and switch to the system")[name]["keys_changed"] == []


def test_a_changed_mode_is_put_back(fleet, inventory):
    inside(fleet["key01"], "chmod 0644 /run/keys/token")
    run = run_playbook(inventory, "deploy.yml", limit="key01")
    assert run.rc == 0 and run.results("Copy and switch to the system")["key01"]["keys_changed"] == ["/run/keys/token"]
    assert key_state(fleet["key01"], "/run/keys/token") == ("root:root", "600", SECRETS[0])


def test_check_mode_and_diff_show_the_change_never_the_secret(fleet, flake, key_file, inventory):
    new_secret = "rotated-secret-45"
    keys = colmena_keys(key_file)
    keys["token"]["text"] = new_secret
    flake.set_host("key01", colmena={"keys": keys})
    check = run_playbook(inventory, "deploy.yml", "--check", "--diff", limit="key01")
    assert check.rc == 0, failures(check)
    switch = check.results("Copy and switch to the system")["key01"]
    assert switch["changed"] is True and switch["keys_changed"] == ["/run/keys/token"]
    token = [d for d in switch["diff"] if d.get("after_header") == "/run/keys/token"][0]
    assert (
        token["before"]
        == "path: /run/keys/token\nowner: 0:0\nmode: 0600\ncontent: as on the host (22 bytes, not shown)\n"
    )
    assert token["after"] == "path: /run/keys/token\nowner: 0:0\nmode: 0600\ncontent: new (17 bytes, not shown)\n"
    assert key_state(fleet["key01"], "/run/keys/token")[2] == SECRETS[0]  # check mode wrote nothing
    # Everything the JSON callback (AWX's job events) and a person at -vvv --diff see: no secret.
    words = SECRETS + [new_secret]
    assert leaked_lines(json.dumps(check.data), words) == []
    rc, text = run_playbook_text(inventory, "deploy.yml", "-vvv", "--diff", "-l", "key01")
    assert rc == 0, text[-3000:]
    assert leaked_lines(text, words) == [] and "/run/keys/token" in text
    assert key_state(fleet["key01"], "/run/keys/token") == ("root:root", "600", new_secret)


@pytest.mark.parametrize(
    "bad, says",
    [
        ({"keyFile": "/nonexistent/key"}, "key 'broken' of host key01: keyFile /nonexistent/key cannot be read"),
        (
            {"keyCommand": ["/bin/sh", "-c", "echo vault sealed >&2; exit 3"]},
            "key 'broken' of host key01: keyCommand failed",
        ),
        ({"text": "x", "name": "../../etc/passwd"}, "name '../../etc/passwd' is not a file name"),
    ],
)
def test_a_bad_key_fails_its_host_before_anything_is_switched(fleet, flake, key_file, inventory, bad, says):
    before = system_state(fleet["key01"])
    keys = colmena_keys(key_file)
    keys["fresh"] = {"text": "never-written"}
    keys["broken"] = bad
    flake.bump("key01", colmena={"keys": keys})
    try:
        run = run_playbook(inventory, "deploy.yml", limit="key01")
    finally:
        flake.set_host("key01", colmena={"keys": colmena_keys(key_file)})
    assert run.rc != 0
    message = [f for f in failures(run) if f[1] == "key01"][0][2]
    assert says in message and "nothing was uploaded or switched" in message, message
    assert system_state(fleet["key01"]) == before
    assert inside(fleet["key01"], "test -e /run/keys/fresh && echo yes || echo no").strip() == "no"


def test_post_activation_keys_wait_for_a_successful_switch(fleet, flake, key_file, inventory):
    """A failed activation: the pre-activation key is written (before the switch), the post-activation one
    is not (the switch never succeeded)."""
    keys = colmena_keys(key_file)
    keys["before"] = {"text": "pre-46"}
    keys["after"] = {"text": "post-47", "uploadAt": "post-activation"}
    flake.bump("key01", fail="fail", colmena={"keys": keys})
    try:
        run = run_playbook(inventory, "deploy.yml", limit="key01")
    finally:
        flake.set_host("key01", fail="none", colmena={"keys": colmena_keys(key_file)})
    assert run.rc != 0
    assert key_state(fleet["key01"], "/run/keys/before") == ("root:root", "600", "pre-46")
    assert key_state(fleet["key01"], "/run/keys/after") is None
