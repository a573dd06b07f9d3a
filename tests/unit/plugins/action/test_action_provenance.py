"""plugins/action/provenance.py: a deployed system's signed statement, made from the real Nix (the
flake's metadata, the system's NAR hash in this machine's store, Nix's version) with a key made by the
real ssh-keygen, kept on the host through stdin, and accepted by provenance_verify."""

import json
import subprocess

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain import provenance as pv

from action_harness import ActionShell, run_action, said

pytestmark = pytest.mark.host_tools
MARK = "nixfleet-target-file"
SYSTEM_EXPR = (
    'derivation { name = "nixos-system-prov-web"; system = "x86_64-linux"; builder = "/bin/sh"; '
    'args = [ "-c" "/bin/mkdir -p $out/bin && echo > $out/bin/switch-to-configuration" ]; }'
)


def nix(*words):
    return subprocess.run(
        ["nix"] + list(words), check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    ).stdout.decode()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("prov")
    (root / "flake").mkdir()
    (root / "flake" / "flake.nix").write_text("{ outputs = { self }: { }; }\n")
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "signer", "-f", str(root / "signer")], check=True
    )
    system = json.loads(nix("build", "--no-link", "--json", "--impure", "--expr", SYSTEM_EXPR))[0]["outputs"]["out"]
    info = json.loads(nix("path-info", "--json", system))
    nar = info[0]["narHash"] if isinstance(info, list) else info[system]["narHash"]
    return {
        "flake": "path:%s" % (root / "flake"),
        "system": system,
        "nar": nar,
        "key": (root / "signer").read_text(),
        "public": (root / "signer.pub").read_text(),
        "root": root,
    }


def host_without_statement():
    return ActionShell({"file probe": said(stdout="%s absent\n" % MARK)}, {"mktemp": said()})


def test_signed_kept_on_the_host_and_verified(world, tmp_path):
    shell = host_without_statement()
    result = run_action(
        "provenance",
        {
            "path": world["system"],
            "key": world["key"],
            "flake": world["flake"],
            "output_dir": str(tmp_path),
            "started": 1700000000.0,
            "finished": 1700000042.0,
        },
        shell,
        task_vars={"awx_job_id": 42},
    )
    assert not result.get("failed"), result
    assert shell.performed == [("file probe", True), ("mktemp", True)]
    envelope_text = shell.stdins[0]  # (stdins: of the plain commands)
    assert (tmp_path / "provenance" / ("web" + pv.SUFFIX)).read_text() == envelope_text
    assert result["subject"] == {"name": world["system"], "digest": {"sha256": pv.hex_digest(world["nar"])}}
    statement = result["statement"]
    assert statement["predicate"]["buildDefinition"]["externalParameters"]["flake"] == world["flake"]
    assert statement["predicate"]["runDetails"]["metadata"]["invocationId"] == "awx-job:42"
    version = nix("--version").split()[-1]
    assert statement["predicate"]["buildDefinition"]["internalParameters"]["nixVersion"] == version
    assert world["key"].split("\n")[1] not in json.dumps(result)
    # the host now holds the envelope: provenance_verify accepts it with the signer's public key
    read = said(
        stdout="system\t%s\nnar_hash\t%s\nprovenance\tenvelope\n%s" % (world["system"], world["nar"], envelope_text)
    )
    verified = run_action(
        "provenance_verify",
        {"keys": [world["public"]], "path": world["system"], "fail": True},
        ActionShell(commands={"printf 'system": read}),
    )
    assert verified["valid"] is True and verified["keyid"] == result["keyid"]
    assert verified["statement"]["awx_job"] == "42"


def test_check_mode_and_an_unchanged_system_write_nothing(world):
    shell = host_without_statement()
    result = run_action(
        "provenance", {"path": world["system"], "key": world["key"], "flake": world["flake"]}, shell, check_mode=True
    )
    assert result["changed"] is True and result["msg"].startswith("web: would sign and keep the provenance of")
    assert shell.names() == ["file probe"]
    kept = ActionShell({"file probe": said(stdout="%s file 0 0 644\n{}" % MARK)})
    same = run_action(
        "provenance",
        {"path": world["system"], "key": world["key"], "flake": world["flake"], "changed_system": False},
        kept,
    )
    assert same["changed"] is False and kept.names() == ["file probe"]


def test_only_check_key(world):
    result = run_action("provenance", {"key": world["key"], "only_check_key": True})
    assert result["changed"] is False and result["msg"].startswith("the provenance key ")


@pytest.mark.parametrize(
    "args, message",
    [
        ({"key": "not a key", "path": None}, "key is not an unencrypted Ed25519 private key"),
        ({"keep": 0}, "keep must be 1 or more"),
        ({"path": None}, "path: give the deployed system"),
        ({"path": "/etc/x"}, "path"),
        ({"flake": None}, "no flake to vouch for"),
        ({"flake": "-oops"}, "is not a flake reference"),
    ],
)
def test_bad_input_fails_before_the_host_is_reached(world, args, message):
    base = {"path": world["system"], "key": world["key"], "flake": world["flake"]}
    base.update(args)
    shell = host_without_statement()
    result = run_action("provenance", base, shell)
    assert result["failed"] is True and message in result["msg"] and "web" in result["msg"]
    assert shell.performed == []
