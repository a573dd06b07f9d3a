"""plugins/action/provenance_verify.py: a host's signed statement checked against trusted keys (an
untrusted key, a tampered statement, another system's digest, no current system)."""

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain import provenance as pv
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._secrets import dsse_signing

from action_harness import ActionShell, run_action, said

SYSTEM = "/nix/store/%s-nixos-system-web-2" % ("a" * 32)
NAR = "sha256-" + base64.b64encode(bytes(range(32))).decode()  # its hex digest: 000102…1f
NAR_HEX = bytes(range(32)).hex()


def statement(system=SYSTEM, digest=NAR_HEX):
    return {
        "_type": pv.STATEMENT_TYPE,
        "predicateType": pv.PREDICATE_TYPE,
        "subject": [{"name": system, "digest": {"sha256": digest}}],
        "predicate": {
            "buildDefinition": {
                "externalParameters": {"flake": "git+file:///srv/fleet"},
                "internalParameters": {"builder": "controller"},
            },
            "runDetails": {
                "byproducts": [
                    {"name": "deployment", "annotations": {"controllerUser": "alice", "controllerHost": "ctl"}}
                ],
                "metadata": {"finishedOn": "2026-01-01T00:00:00Z"},
            },
        },
    }


def public_text(key):
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


@pytest.fixture(scope="module")
def signer():
    return Ed25519PrivateKey.generate()


def envelope_text(key, document):
    return json.dumps(dsse_signing.sign(key, document)[0])


def host(system=SYSTEM, nar=NAR, envelope=None):
    text = "system\t%s\n" % (system or "")
    if system:
        text += "nar_hash\t%s\n" % nar
        if envelope is not None:
            text += "provenance\tenvelope\n" + envelope
    return ActionShell(commands={"printf 'system": said(stdout=text)})


def test_a_statement_signed_by_a_trusted_key_is_valid(signer):
    shell = host(envelope=envelope_text(signer, statement()))
    result = run_action("provenance_verify", {"keys": [public_text(signer)]}, shell)
    assert not result.get("failed"), result
    keyid = pv.key_id(signer.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    assert result["valid"] is True and result["keyid"] == keyid and result["problem"] == ""
    assert result["msg"] == "web: %s is vouched for by key %s" % (SYSTEM, keyid[:16])
    assert result["statement"]["deployed_by"] == "alice@ctl" and result["statement"]["builder"] == "controller"
    assert shell.performed == [("printf 'system", False)]  # read as the login user
    assert "readlink /run/current-system" in shell.texts[0]


def test_an_untrusted_key_is_a_warning_or_with_fail_a_failure(signer):
    other = Ed25519PrivateKey.generate()
    args = {"keys": [public_text(other)]}
    warned = run_action("provenance_verify", args, host(envelope=envelope_text(signer, statement())))
    problem = "no trusted key signed its statement (or the statement was changed after signing)"
    assert warned["valid"] is False and warned["problem"] == problem and not warned.get("failed")
    assert warned["warnings"] == ["web: NO VALID PROVENANCE for %s: %s" % (SYSTEM, problem)]
    failed = run_action("provenance_verify", dict(args, fail=True), host(envelope=envelope_text(signer, statement())))
    assert failed["failed"] is True and failed["msg"] == "web: NO VALID PROVENANCE for %s: %s" % (SYSTEM, problem)


def test_a_tampered_statement_no_longer_verifies(signer):
    envelope = json.loads(envelope_text(signer, statement()))
    changed = statement()
    changed["predicate"]["runDetails"]["byproducts"][0]["annotations"]["controllerUser"] = "mallory"
    envelope["payload"] = base64.b64encode(pv.payload(changed)).decode()
    result = run_action(
        "provenance_verify", {"keys": [public_text(signer)], "fail": True}, host(envelope=json.dumps(envelope))
    )
    assert result["failed"] is True and result["valid"] is False
    assert "no trusted key signed its statement" in result["problem"]


def test_a_statement_about_other_bytes_is_refused(signer):
    shell = host(envelope=envelope_text(signer, statement(digest="ff" * 32)))
    result = run_action("provenance_verify", {"keys": [public_text(signer)]}, shell)
    assert result["valid"] is False
    assert result["problem"] == "the statement's digest of %s is not the host's (its NAR hash is sha256 %s)" % (
        SYSTEM,
        NAR_HEX,
    )


def test_a_statement_about_another_system_is_refused(signer):
    other = "/nix/store/%s-nixos-system-web-1" % ("b" * 32)
    result = run_action(
        "provenance_verify",
        {"keys": [public_text(signer)]},
        host(envelope=envelope_text(signer, statement(system=other))),
    )
    assert result["problem"] == "the statement is about another system, not %s" % SYSTEM


def test_no_current_system(signer):
    result = run_action("provenance_verify", {"keys": [public_text(signer)], "fail": True}, host(system=None))
    assert result["failed"] is True and result["system"] is None
    assert result["msg"] == "web: NO VALID PROVENANCE for -: nothing runs (no /run/current-system)"


def test_no_statement_kept_on_the_host(signer):
    result = run_action("provenance_verify", {"keys": [public_text(signer)]}, host())
    assert result["problem"] == "the host keeps no signed statement for it (%s)" % pv.host_file(SYSTEM)


def test_garbage_instead_of_an_envelope(signer):
    result = run_action("provenance_verify", {"keys": [public_text(signer)]}, host(envelope="[1, 2]"))
    assert result["problem"].startswith("its statement is not a DSSE envelope")


@pytest.mark.parametrize(
    "keys, message",
    [
        ([], "keys: give at least one trusted public key"),
        (["ssh-rsa AAAA"], "keys[0]: 'ssh-rsa AAAA' is not an Ed25519 public key"),
    ],
)
def test_bad_keys_fail_naming_the_host_before_it_is_read(keys, message):
    shell = host()
    result = run_action("provenance_verify", {"keys": keys}, shell)
    assert result["failed"] is True and message in result["msg"] and "web" in result["msg"]
    assert shell.performed == []


def test_a_path_outside_the_store_fails_before_the_host_is_read(signer):
    shell = host()
    result = run_action("provenance_verify", {"keys": [public_text(signer)], "path": "/etc/x"}, shell)
    assert result["failed"] is True and "path" in result["msg"] and "web" in result["msg"]
    assert shell.performed == []
