"""Signed provenance: the in-toto statement's shape, the DSSE envelope checked by securesystemslib
(a maintained DSSE implementation, not ours), tampering and a wrong key refused by it and by us, key
formats, the host-side commands run by a real shell."""

import base64
import json
import os
import subprocess
from typing import Any, Dict

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey

from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain import provenance as pv
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._secrets import dsse_signing as ds

SYSTEM = "/nix/store/%s-nixos-system-web-01-2" % ("a" * 32)
NAR = "sha256:" + "1" * 52  # Nix base-32
METADATA: Dict[str, Any] = {  # the shape of `nix flake metadata --json` (Nix 2.8)
    "url": "git+https://user:token@example.org/infra?ref=main&rev=" + "c" * 40,
    "revision": "c" * 40,
    "locked": {
        "type": "git",
        "url": "https://example.org/infra",
        "rev": "c" * 40,
        "narHash": "sha256-" + base64.b64encode(bytes(range(32))).decode(),
    },
    "locks": {
        "root": "root",
        "version": 7,
        "nodes": {
            "root": {"inputs": {"nixpkgs": "nixpkgs"}},
            "nixpkgs": {
                "locked": {
                    "type": "github",
                    "owner": "NixOS",
                    "repo": "nixpkgs",
                    "rev": "d" * 40,
                    "lastModified": 1700000000,
                    "narHash": "sha256-" + base64.b64encode(bytes(range(1, 33))).decode(),
                },
                "original": {"type": "github", "owner": "NixOS", "repo": "nixpkgs"},
            },
        },
    },
}


def deployment(**changes):
    fields: Dict[str, Any] = dict(
        host="web-01",
        system=SYSTEM,
        nar_sha256=pv.hex_digest(NAR),
        flake=METADATA["url"],
        attribute='nixosConfigurations."web-01".config.system.build.toplevel',
        resources=tuple(pv.flake_resources(METADATA["url"], METADATA)),
        nix_version="2.8.0",
        builder="controller",
        builder_host="ctl",
        action="switch",
        by="alice@ctl",
        started=1700000000.0,
        finished=1700000042.5,
        awx_job="42",
        awx_user="bob",
    )
    fields.update(changes)
    return pv.Deployment(**fields)


def pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_the_statement_is_in_toto_v1_with_slsa_provenance_v1():
    document = pv.statement(deployment())
    assert document["_type"] == "https://in-toto.io/Statement/v1"
    assert document["predicateType"] == "https://slsa.dev/provenance/v1"
    assert document["subject"] == [{"name": SYSTEM, "digest": {"sha256": pv.hex_digest(NAR)}}]
    definition = document["predicate"]["buildDefinition"]
    assert definition["externalParameters"]["flake"] == "git+https://example.org/infra?ref=main&rev=" + "c" * 40
    flake, nixpkgs = definition["resolvedDependencies"]
    assert flake == {
        "name": "flake",
        "uri": "git+https://example.org/infra?ref=main&rev=" + "c" * 40,
        "digest": {"sha256": bytes(range(32)).hex(), "gitCommit": "c" * 40},
    }
    assert nixpkgs["uri"] == "github:NixOS/nixpkgs/" + "d" * 40
    assert nixpkgs["digest"] == {"sha256": bytes(range(1, 33)).hex(), "gitCommit": "d" * 40}
    assert definition["internalParameters"] == {"nixVersion": "2.8.0", "builder": "controller", "builderHost": "ctl"}
    run = document["predicate"]["runDetails"]
    assert run["metadata"] == {
        "invocationId": "awx-job:42",
        "startedOn": "2023-11-14T22:13:20Z",
        "finishedOn": "2023-11-14T22:14:02Z",
    }
    assert run["byproducts"] == [
        {
            "name": "deployment",
            "annotations": {
                "host": "web-01",
                "action": "switch",
                "controllerUser": "alice",
                "controllerHost": "ctl",
                "awxJobId": "42",
                "awxUser": "bob",
            },
        }
    ]
    with pytest.raises(pv.ProvenanceError):
        pv.statement(deployment(builder="laptop"))


def test_securesystemslib_verifies_our_envelope_and_refuses_a_changed_one():
    key = Ed25519PrivateKey.generate()
    envelope, keyid = ds.sign(ds.private_key(pem(key)), pv.statement(deployment()))
    theirs = SSlibKey.from_crypto(key.public_key())
    assert keyid == theirs.keyid  # the id securesystemslib gives the key
    parsed = Envelope.from_dict(json.loads(json.dumps(envelope)))
    assert parsed.pae() == pv.pae(pv.PAYLOAD_TYPE, base64.b64decode(envelope["payload"]))
    assert list(parsed.verify([theirs], 1)) == [keyid]
    assert json.loads(parsed.payload)["subject"][0]["name"] == SYSTEM
    # a statement changed after signing, and the right statement checked with another key
    changed = dict(envelope, payload=base64.b64encode(pv.payload(pv.statement(deployment(host="web-02")))).decode())
    with pytest.raises(VerificationError):
        Envelope.from_dict(json.loads(json.dumps(changed))).verify([theirs], 1)
    other = SSlibKey.from_crypto(Ed25519PrivateKey.generate().public_key(), keyid=keyid)
    with pytest.raises(VerificationError):
        Envelope.from_dict(json.loads(json.dumps(envelope))).verify([other], 1)
    # and our own check agrees
    trusted = [ds.public_key_of(key.public_key())]
    assert ds.verified_by(envelope, trusted)[1] == keyid
    assert ds.verified_by(changed, trusted)[1] is None
    assert ds.verified_by(envelope, [ds.public_key_of(Ed25519PrivateKey.generate().public_key())])[1] is None


def test_statement_checks_name_the_problem():
    body = pv.payload(pv.statement(deployment()))
    assert pv.statement_problem(body, SYSTEM, NAR) is None
    assert "another system" in str(pv.statement_problem(body, SYSTEM + "x", NAR))
    assert "is not the host's" in str(pv.statement_problem(body, SYSTEM, "sha256:0" + "2" * 51))
    assert "does not know" in str(pv.statement_problem(body, SYSTEM, None))
    assert "not JSON" in str(pv.statement_problem(b"\xff", SYSTEM, NAR))
    assert "not an in-toto" in str(pv.statement_problem(b"{}", SYSTEM, NAR))
    assert pv.summary(body) == {
        "flake": "git+https://example.org/infra?ref=main&rev=" + "c" * 40,
        "rev": "c" * 40,
        "builder": "controller",
        "deployed_by": "alice@ctl",
        "awx_job": "42",
        "awx_user": "bob",
        "finished": "2023-11-14T22:14:02Z",
    }
    with pytest.raises(pv.ProvenanceError):
        pv.opened({"payloadType": pv.PAYLOAD_TYPE, "payload": "!!", "signatures": []})


@pytest.mark.host_tools
def test_key_formats_and_refusals_that_never_quote_the_key(tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    ssh_private = (tmp_path / "k").read_text()
    key = ds.private_key(ssh_private)
    assert ds.public_key((tmp_path / "k.pub").read_text()).keyid == ds.public_key_of(key.public_key()).keyid
    pub_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    assert ds.public_key(pub_pem).keyid == ds.public_key_of(key.public_key()).keyid
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "1024", "-N", "", "-f", str(tmp_path / "r")], check=True)
    secret = (tmp_path / "r").read_text()
    for text, said in ((secret, "not Ed25519"), ("garbage " + ssh_private[40:80], "is not an unencrypted Ed25519")):
        with pytest.raises(ValueError) as caught:
            ds.private_key(text)
        assert said in str(caught.value) and text[40:70] not in str(caught.value)
    with pytest.raises(ValueError, match="keys: 'ssh-rsa"):
        ds.public_key((tmp_path / "r.pub").read_text())


@pytest.mark.host_tools
def test_the_host_keeps_the_newest_envelopes_and_reads_one_back(tmp_path):
    directory = tmp_path / "provenance"
    for index in range(5):
        system = "/nix/store/%s-nixos-system-web-01-%d" % (str(index) * 32, index)
        subprocess.run(
            ["/bin/sh", "-c", pv.store_command(system, 3, str(directory)).text],
            input='{"n": %d}\n' % index,
            universal_newlines=True,
            check=True,
        )
        os.utime(str(directory / (os.path.basename(system) + pv.SUFFIX)), (1700000000 + index, 1700000000 + index))
    kept = sorted(p.name for p in directory.iterdir())
    assert kept == ["%s-nixos-system-web-01-%d.dsse.json" % (str(i) * 32, i) for i in (2, 3, 4)]
    assert oct((directory / kept[0]).stat().st_mode & 0o777) == "0o644"
    system = "/nix/store/%s-nixos-system-web-01-4" % ("4" * 32)
    out = subprocess.run(
        ["/bin/sh", "-c", pv.read_command(system, str(directory)).text],
        stdout=subprocess.PIPE,
        universal_newlines=True,
        check=True,
    ).stdout
    record = pv.parse_read(out)
    assert (record.system, record.envelope_text) == (system, '{"n": 4}\n')
    none = pv.parse_read(
        subprocess.run(
            ["/bin/sh", "-c", pv.read_command(system + "x", str(directory)).text],
            stdout=subprocess.PIPE,
            universal_newlines=True,
            check=True,
        ).stdout
    )
    assert none.envelope_text is None and none.system == system + "x"
