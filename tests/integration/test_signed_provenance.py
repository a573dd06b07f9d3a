"""Signed provenance of every deployment on the fleet (nixos_deploy_provenance_key, modules provenance
and provenance_verify, playbooks/verify.yml). Each statement is checked with securesystemslib (a
maintained DSSE implementation) against the host's own facts: the running store path, its NAR hash
(nix-store --dump | sha256sum on the host), the flake's locked input (its NAR hash from flake.lock),
the AWX job and user; a changed statement and a wrong key are refused, by the library and by
verify.yml. node02 has no Python."""

import base64
import getpass
import json
import socket
import subprocess
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey

from fleetctl import FixtureFlake, inside, nix_env
from fleet_fixtures import own_fleet
from playbook_helpers import failures, run_playbook, run_playbook_text, write_fleet_inventory

pytestmark = pytest.mark.integration

DIR = "/nix/var/nixfleet/provenance"


fleet = own_fleet("provenance", 2, ["node02"], "127.0.92.11")


@pytest.fixture(scope="module")
def keys():
    key = Ed25519PrivateKey.generate()
    return {
        "private": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        "public": key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
        "library": SSlibKey.from_crypto(key.public_key()),
    }


@pytest.fixture(scope="module")
def setup(fleet, tmp_path_factory):
    """The fixture flake with one locked input (a path, no flake), and its inventory."""
    base = tmp_path_factory.mktemp("provenance-flake")
    extra = base / "extra"
    extra.mkdir()
    (extra / "data.txt").write_text("an input the statement must name\n")
    flake = FixtureFlake.create(base / "flake", fleet, {"node01": "colmena"})
    nix = (flake.path / "flake.nix").read_text()
    (flake.path / "flake.nix").write_text(
        nix.replace(
            "outputs = { self }:",
            'inputs.extra = { url = "path:%s"; flake = false; };\n  outputs = { self, ... }:' % extra,
        )
    )
    subprocess.run(
        ["nix", "flake", "lock", "path:%s" % flake.path],
        env=nix_env(),
        check=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    return flake, write_fleet_inventory(base / "inventory", fleet, flake)


def deploy(inventory, *args, **extra):
    return run_playbook(inventory, "deploy.yml", *args, extra_vars=dict({"nixos_deploy_confirm_timeout": 5}, **extra))


def envelope_on(host, system):
    return inside(host, "cat %s/%s.dsse.json" % (DIR, system.rsplit("/", 1)[1]))


def test_every_deployed_system_has_a_statement_the_library_verifies(fleet, setup, keys, tmp_path):
    flake, inventory = setup
    started = time.time()
    run = deploy(
        inventory,
        nixos_deploy_provenance_key=keys["private"],
        nixos_deploy_report_dir=str(tmp_path),
        awx_job_id=77,
        awx_user_name="alice",
    )
    assert run.rc == 0, failures(run)
    lock = json.loads((flake.path / "flake.lock").read_text())["nodes"]["extra"]["locked"]
    for host in fleet.hosts:
        system = inside(host, "readlink /run/current-system").strip()
        kept = envelope_on(host, system)
        assert kept == (tmp_path / "provenance" / ("%s.dsse.json" % host.name)).read_text()
        envelope = Envelope.from_dict(json.loads(kept))
        assert list(envelope.verify([keys["library"]], 1)) == [keys["library"].keyid]
        statement = json.loads(envelope.payload)
        nar = inside(host, "nix-store --dump %s | sha256sum" % system).split()[0]
        assert statement["subject"] == [{"name": system, "digest": {"sha256": nar}}]
        definition = statement["predicate"]["buildDefinition"]
        assert definition["externalParameters"] == {
            "flake": run.results("Sign and keep")[host.name]["statement"]["predicate"]["buildDefinition"][
                "externalParameters"
            ]["flake"],
            "attribute": 'nixosConfigurations."%s".config.system.build.toplevel' % host.name,
        }
        extra = [r for r in definition["resolvedDependencies"] if r["name"] == "extra"]
        assert extra and extra[0]["digest"]["sha256"] == base64.b64decode(lock["narHash"][len("sha256-") :]).hex()
        assert definition["internalParameters"]["nixVersion"].startswith("2.")
        assert definition["internalParameters"]["builder"] == "controller"
        run_details = statement["predicate"]["runDetails"]
        assert run_details["byproducts"][0]["annotations"] == {
            "host": host.name,
            "action": "switch",
            "controllerUser": getpass.getuser(),
            "controllerHost": socket.gethostname(),
            "awxJobId": "77",
            "awxUser": "alice",
        }
        times = [
            time.mktime(time.strptime(run_details["metadata"][k], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
            for k in ("startedOn", "finishedOn")
        ]
        assert started - 1 <= times[0] <= times[1] <= time.time() + 1
        assert inside(host, "stat -c '%%U %%a' %s/%s.dsse.json" % (DIR, system.rsplit("/", 1)[1])).strip() == "root 644"


def test_a_changed_statement_or_another_key_is_refused(fleet, setup, keys):
    host = fleet["node01"]
    system = inside(host, "readlink /run/current-system").strip()
    document = json.loads(envelope_on(host, system))
    statement = json.loads(base64.b64decode(document["payload"]))
    statement["predicate"]["runDetails"]["byproducts"][0]["annotations"]["controllerUser"] = "mallory"
    changed = dict(document, payload=base64.b64encode(json.dumps(statement).encode()).decode())
    with pytest.raises(VerificationError):
        Envelope.from_dict(json.loads(json.dumps(changed))).verify([keys["library"]], 1)
    stranger = SSlibKey.from_crypto(Ed25519PrivateKey.generate().public_key(), keyid=keys["library"].keyid)
    with pytest.raises(VerificationError):
        Envelope.from_dict(json.loads(json.dumps(document))).verify([stranger], 1)


def test_verify_vouches_for_the_running_system_and_flags_what_has_none(fleet, setup, keys):
    _flake, inventory = setup
    trusted = {"nixos_verify_provenance_keys": [keys["public"]]}
    run = run_playbook(inventory, "verify.yml", extra_vars=trusted)
    assert run.rc == 0, failures(run)
    for host in fleet.hosts:
        said = run.results("Report")[host.name]["msg"]
        assert "; provenance: signed by key %s for " % keys["library"].keyid[:16] in said
        assert "deployed by %s@%s, AWX job 77" % (getpass.getuser(), socket.gethostname()) in said
    node01, node02 = fleet["node01"], fleet["node02"]
    system = inside(node01, "readlink /run/current-system").strip()
    path = "%s/%s.dsse.json" % (DIR, system.rsplit("/", 1)[1])
    original = inside(node01, "cat %s" % path)
    document = json.loads(original)
    statement = json.loads(base64.b64decode(document["payload"]))
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    inside(
        node01,
        "cat > %s <<'EOF'\n%s\nEOF"
        % (path, json.dumps(dict(document, payload=base64.b64encode(json.dumps(statement).encode()).decode()))),
    )
    inside(node02, "mv %s /tmp/provenance-kept" % DIR)
    other = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    try:
        run = run_playbook(inventory, "verify.yml", extra_vars=trusted)
        assert run.rc == 0, failures(run)
        assert run.results("Report")["node01"]["msg"].endswith(
            "; NO VALID PROVENANCE: no trusted key signed its statement (or the statement was changed after signing)"
        )
        assert (
            "; NO VALID PROVENANCE: the host keeps no signed statement for it" in run.results("Report")["node02"]["msg"]
        )
        assert run.results("signed provenance")["node02"]["warnings"]
        strict = run_playbook(
            inventory,
            "verify.yml",
            extra_vars={"nixos_verify_provenance_keys": [other], "nixos_verify_fail_on_unsigned": True},
        )
        assert strict.rc != 0 and strict.stats("node01")["failures"] == 1 and strict.stats("node02")["failures"] == 1
    finally:
        inside(node01, "cat > %s <<'EOF'\n%sEOF" % (path, original))
        inside(node02, "mv /tmp/provenance-kept %s" % DIR)


def test_a_redeploy_changes_nothing_and_the_host_keeps_the_newest(fleet, setup, keys):
    flake, inventory = setup
    again = deploy(inventory, nixos_deploy_provenance_key=keys["private"])
    assert again.rc == 0, failures(again)
    assert all(again.results("Sign and keep")[h.name]["changed"] is False for h in fleet.hosts)
    assert all(again.stats(h.name)["changed"] == 0 for h in fleet.hosts)
    node01 = fleet["node01"]
    for version in ("2", "3", "4"):
        flake.set_host("node01", version=version)
        run = deploy(
            inventory, nixos_deploy_provenance_key=keys["private"], nixos_deploy_provenance_keep=2, limit="node01"
        )
        assert run.rc == 0, failures(run)
    kept = inside(node01, "ls %s" % DIR).split()
    running = inside(node01, "readlink /run/current-system").strip().rsplit("/", 1)[1]
    assert len(kept) == 2 and running + ".dsse.json" in kept
    assert sorted(k.rsplit("-", 1)[1] for k in kept) == ["3.dsse.json", "4.dsse.json"]


def test_the_key_never_shows_and_a_bad_one_stops_every_host_before_copying(fleet, setup, keys):
    flake, inventory = setup
    flake.set_host("node02", version="5")
    rc, out = run_playbook_text(
        inventory,
        "deploy.yml",
        "-vvv",
        extra_vars={"nixos_deploy_provenance_key": keys["private"], "nixos_deploy_confirm_timeout": 5},
    )
    assert rc == 0, out[-3000:]
    body = keys["private"].splitlines()[1]
    assert body not in out and keys["private"][40:80] not in out
    flake.set_host("node02", version="6")
    bad = deploy(
        inventory, nixos_deploy_provenance_key="-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----"
    )
    assert bad.rc != 0
    msg = bad.results("Check the provenance signing key")["node01"]["msg"]
    assert msg == "node01: key is not an unencrypted Ed25519 private key in PEM (PKCS#8) or OpenSSH form"
    assert bad.results("Copy and switch to the system") == {}
    assert inside(fleet["node02"], "cat /run/current-system/nixos-version").strip() == "5"
