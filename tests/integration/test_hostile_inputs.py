"""The hostile-input suite: every module option that reaches a command line, a file or a config on a
host (or the controller's Nix), given payloads a shell, a path or a template would act on — through
a real playbook, on a fleet host without Python.

Each value is either refused with an error naming the option, or carried as data: a marker file the
payloads try to create exists neither on the host nor on the controller afterwards, the host's
system, nix.conf and profiles are as before, and nothing escaped its directory. That the words of a
command arrive exactly is proven for arbitrary strings by tests/unit/plugins/module_utils/_remote/test_remote_command.py.
Payloads reach the modules through ``!unsafe`` (so Ansible templates none of them: what the
modules do with ``{{ … }}`` is what is tested).
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets import bech32

from fleetctl import ROOT, inside
from fleet_fixtures import own_fleet
from playbook_helpers import run_playbook

pytestmark = pytest.mark.integration

MARKER = "/tmp/nixfleet-pwned-%s" % uuid.uuid4().hex[:12]
ESCAPE = "/tmp/nixfleet-escaped-%s" % uuid.uuid4().hex[:12]
SCRATCH = "/var/tmp/nixfleet-hostile-%s" % uuid.uuid4().hex[:12]  # where accepted paths may write
PAYLOADS = [
    "$(touch %s)" % MARKER,
    "`touch %s`" % MARKER,
    "x; touch %s" % MARKER,
    "x && touch %s" % MARKER,
    "x | touch %s" % MARKER,
    "x\ntouch %s" % MARKER,
    "x'; touch %s; '" % MARKER,
    'x"; touch %s; "' % MARKER,
    "../../../..%s" % ESCAPE,
    "-rf",
    "${IFS}touch${IFS}%s" % MARKER,
    "{{ lookup('pipe', 'touch %s') }}" % MARKER,
    "x" * 5000,
    "ünïcödé-✓-%s" % MARKER,
    "x\0touch %s" % MARKER,
    # Absolute and normalised, so a path option takes it: the metacharacters must stay characters.
    "%s/a b;$(touch %s)`touch %s`" % (SCRATCH, MARKER, MARKER),
    "%s/x\ntouch %s" % (SCRATCH, MARKER),
]
AGE_KEY = bech32.encode("age-secret-key-", bytes(range(32))).upper()
STORE = "/nix/store/00000000000000000000000000000000-nixos-system-x"
SIGNING = Ed25519PrivateKey.generate()
KEY = SIGNING.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
PUBLIC = SIGNING.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
FIXTURE = "path:%s" % (ROOT / "tests" / "fixtures" / "flake")

VALID = "@VALID@"  # a path the controller's store has (made by the fleet fixture): provenance signs it


def valid_path():
    with tempfile.NamedTemporaryFile("w", suffix="-hostile") as handle:
        handle.write("a store path for the hostile-input suite\n")
        handle.flush()
        return subprocess.run(
            ["nix-store", "--add", handle.name], stdout=subprocess.PIPE, universal_newlines=True, check=True
        ).stdout.strip()


P = "{{ item }}"  # where the payload goes

TAKEN = "taken: %s"  # the value passed every check and was used as data: the task failed further on, thus
# (case, module, arguments with P where the payload goes, the option's name as errors give it, or
# several; TAKEN names the later failure that shows the value was taken)
CASES = [
    ("switch path", "switch", {"path": P}, "path"),
    ("switch profile", "switch", {"path": STORE, "profile": P}, ("profile", TAKEN % "is not in the target's store")),
    ("rollback profile", "rollback", {"profile": P}, "profile"),
    ("copy_closure path", "copy_closure", {"path": P}, "path"),
    ("copy_closure cache_url", "copy_closure", {"path": STORE, "mode": "cache", "cache_url": P}, "cache_url"),
    ("facts profile", "facts", {"profile": P}, "profile"),
    ("generations profile", "generations", {"profile": P, "keep_last": 1}, "profile"),
    ("generations protect", "generations", {"keep_last": 1, "protect": [P]}, "protect"),
    ("generations max_freed", "generations", {"keep_last": 1, "collect_garbage": True, "max_freed": P}, "max_freed"),
    ("generations min_free", "generations", {"keep_last": 1, "collect_garbage": True, "min_free": P}, "min_free"),
    ("health_check argv", "health_check", {"checks": [{"type": "cmd", "argv": [P], "retries": 0}]}, "argv"),
    ("health_check url", "health_check", {"checks": [{"type": "http", "url": P, "retries": 0}]}, "url"),
    (
        "health_check target url",
        "health_check",
        {"checks": [{"type": "http", "url": "http://127.0.0.1:9/" + P, "source": "target", "retries": 0}]},
        "url",
    ),
    ("reboot expected", "reboot", {"policy": "never", "expected": P}, "expected"),
    ("reboot profile", "reboot", {"policy": "never", "profile": P}, "profile"),
    ("nix_conf path", "nix_conf", {"path": P, "settings": {"max-jobs": "2"}}, "path"),
    ("nix_conf setting value", "nix_conf", {"path": "/etc/nixfleet/hostile.conf", "settings": {"cores": P}}, "cores"),
    ("nix_conf setting name", "nix_conf", {"path": "/etc/nixfleet/hostile.conf", "settings": {P: "1"}}, "setting"),
    ("nix_conf remove", "nix_conf", {"path": "/etc/nixfleet/hostile.conf", "remove": [P]}, ("remove", "setting")),
    ("nix_conf substituters", "nix_conf", {"path": "/etc/nixfleet/hostile.conf", "substituters": [P]}, "substituters"),
    (
        "nix_conf extra_substituters",
        "nix_conf",
        {"path": "/etc/nixfleet/hostile.conf", "extra_substituters": [P]},
        "extra-substituters",
    ),
    (
        "nix_conf trusted_public_keys",
        "nix_conf",
        {"path": "/etc/nixfleet/hostile.conf", "trusted_public_keys": [P]},
        "trusted-public-keys",
    ),
    (
        "nix_conf netrc_content",
        "nix_conf",
        {"path": "/etc/nixfleet/hostile.conf", "netrc_file": SCRATCH + "/netrc", "netrc_content": P},
        "netrc",
    ),
    (
        "nix_conf netrc_file",
        "nix_conf",
        {"path": "/etc/nixfleet/hostile.conf", "netrc_file": P},
        ("netrc-file", "netrc_file"),
    ),
    ("binary_cache path", "binary_cache", {"listen_address": "127.0.28.11", "path": P}, "path"),
    ("binary_cache state_dir", "binary_cache", {"listen_address": "127.0.28.11", "state_dir": P}, "state_dir"),
    ("binary_cache config", "binary_cache", {"listen_address": "127.0.28.11", "config": P}, "config"),
    ("binary_cache listen_address", "binary_cache", {"listen_address": P}, "listen_address"),
    ("binary_cache user", "binary_cache", {"listen_address": "127.0.28.11", "user": P}, "user"),
    ("binary_cache group", "binary_cache", {"listen_address": "127.0.28.11", "group": P}, "group"),
    ("binary_cache nginx", "binary_cache", {"listen_address": "127.0.28.11", "nginx": P}, "nginx"),
    (
        "binary_cache upload_allow",
        "binary_cache",
        {"listen_address": "127.0.28.11", "upload_allow": [P]},
        "upload_allow",
    ),
    ("nix_profile name", "nix_profile", {"name": P, "path": STORE}, "name"),
    ("nix_profile profile", "nix_profile", {"profile": P, "path": STORE}, "profile"),
    ("nix_profile path", "nix_profile", {"name": "hostile", "path": P}, "path"),
    (
        "nix_profile bin_dir",
        "nix_profile",
        {"name": "hostile", "path": STORE, "bin_dir": P},
        ("bin_dir", TAKEN % "is not valid"),
    ),
    ("sops_age_key content", "sops_age_key", {"content": P, "path": SCRATCH + "/k"}, "content"),
    ("sops_age_key path", "sops_age_key", {"content": AGE_KEY, "path": P}, "path"),
    ("sops_age_key owner", "sops_age_key", {"content": AGE_KEY, "path": SCRATCH + "/k", "owner": P}, "owner"),
    ("sops_age_key group", "sops_age_key", {"content": AGE_KEY, "path": SCRATCH + "/k", "group": P}, "group"),
    ("sops_age_key mode", "sops_age_key", {"content": AGE_KEY, "path": SCRATCH + "/k", "mode": P}, "mode"),
    ("age_recipient path", "age_recipient", {"source": "ssh_host_key", "path": P}, "path"),
    ("sops_decrypt_check path", "sops_decrypt_check", {"files": [], "path": P}, "path"),
    ("cache_push to", "cache_push", {"paths": [STORE], "to": P}, "to"),
    ("cache_push paths", "cache_push", {"paths": [P], "to": "file:///var/tmp/nixfleet-no-cache"}, "paths"),
    ("flake_policy flake", "flake_policy", {"flake": P}, "flake"),
    ("build flake", "build", {"flake": P, "hosts": ["node01"]}, "flake"),
    ("build nix_args", "build", {"flake": "/nonexistent", "hosts": ["node01"], "nix_args": [P]}, "nix_args"),
    ("sbom path", "sbom", {"path": P, "dest": "/tmp/nixfleet-hostile-sbom.json"}, "path"),
    ("exposure package", "exposure", {"package": P}, "package"),
    ("exposure version", "exposure", {"package": "openssl", "version": P}, "package version"),
    ("exposure profile", "exposure", {"package": "openssl", "profile": P}, "profile"),
    ("exposure sbom_dir", "exposure", {"package": "openssl", "sbom_dir": P}, ("sbom_dir", TAKEN % "reading the SBOM")),
    ("package_gate paths", "package_gate", {"paths": {"node01": P}, "deny_packages": ["openssl<3"]}, "paths[node01]"),
    ("package_gate deny_packages", "package_gate", {"paths": {"node01": STORE}, "deny_packages": [P]}, "deny_packages"),
    ("package_gate deny file", "package_gate", {"paths": {"node01": STORE}, "deny_packages": P}, "deny_packages"),
    (
        "package_gate allow name",
        "package_gate",
        {
            "paths": {"node01": STORE},
            "deny_packages": ["openssl<3"],
            "allow_packages": [{"name": P, "expires": "2030-01-01", "reason": "r"}],
        },
        "allow_packages[0]",
    ),
    (
        "package_gate allow reason",
        "package_gate",
        {
            "paths": {"node01": STORE},
            "deny_packages": ["openssl<3"],
            "allow_packages": [{"name": "openssl", "expires": "2030-01-01", "reason": P}],
        },
        "allow_packages[0]",
    ),
    (
        "package_gate store",
        "package_gate",
        {"paths": {"node01": STORE}, "deny_packages": ["openssl<3"], "store": P},
        "store",
    ),
    ("provenance key", "provenance", {"path": VALID, "key": P}, "key"),
    ("provenance path", "provenance", {"path": P, "key": KEY}, "path"),
    (
        "provenance flake",
        "provenance",
        {"path": VALID, "key": KEY, "flake": P},
        ("flake", TAKEN % "nix flake metadata"),
    ),
    ("provenance action", "provenance", {"path": VALID, "key": KEY, "flake": FIXTURE, "action": P}, "action"),
    (
        "provenance builder_host",
        "provenance",
        {"path": VALID, "key": KEY, "flake": FIXTURE, "builder_host": P},
        "builder_host",
    ),
    ("provenance attribute", "provenance", {"path": VALID, "key": KEY, "flake": FIXTURE, "attribute": P}, "attribute"),
    ("provenance_verify keys", "provenance_verify", {"keys": [P]}, "keys[0]"),
    ("provenance_verify path", "provenance_verify", {"keys": [PUBLIC], "path": P}, "path"),
]


def payload_option(args, path=""):
    """Where the payload goes in a case's arguments: ``allow_packages[0].name``."""
    items = args.items() if isinstance(args, dict) else enumerate(args) if isinstance(args, list) else []
    for key, value in items:
        here = "%s[%d]" % (path, key) if isinstance(key, int) else "%s.%s" % (path, key) if path else key
        if isinstance(value, str) and P in value or isinstance(key, str) and P in key:
            return here
        found = payload_option(value, here)
        if found:
            return found
    return None


def documented(docs, option):
    """Whether ``option`` (``a[0].b``) is an option of a module's docs (``ansible-doc --json``: doc
    fragments included), suboptions too."""
    spec: Any = {"suboptions": docs["doc"]["options"]}
    for name in re.sub(r"\[\d+\]", "", option).split("."):
        if spec.get("type") in ("dict", "list") and "suboptions" not in spec:
            return True  # free-form (nix_conf's settings, package_gate's allow_packages): the module checks the rest
        spec = (spec.get("suboptions") or {}).get(name)
        if spec is None:
            return False
    return True


def test_every_case_puts_its_payload_in_a_documented_option():
    """The suite tests the modules' real options: each case's payload goes into an option the module
    documents (a renamed or removed option fails here, not silently as a refusal of an unknown one)."""
    assert len({case for case, _module, _args, _names in CASES}) == len(CASES)
    modules = sorted({"nixfleet.nixos." + module for _case, module, _args, _names in CASES})
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "-t", "module", "--json"] + modules,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    docs = json.loads(proc.stdout)
    for case, module, args, _names in CASES:
        option = payload_option(args)
        assert option and documented(docs["nixfleet.nixos." + module], option), (case, option)


def unsafe(value: str) -> str:
    """A YAML scalar Ansible will never template (JSON's escapes are YAML's)."""
    return "!unsafe %s" % json.dumps(value)


def playbook(path, valid):
    lines = ["- hosts: node01", "  gather_facts: false", "  vars:", "    payloads:"]
    lines += ["      - %s" % unsafe(p) for p in PAYLOADS]
    lines.append("  tasks:")
    for case, module, args, _option in CASES:
        lines += [
            "    - name: %s" % json.dumps(case),
            "      nixfleet.nixos.%s: %s" % (module, json.dumps(args).replace(VALID, valid)),
            '      loop: "{{ payloads }}"',
            '      loop_control: {label: "{{ item[:40] }}"}',
            "      ignore_errors: true",
        ]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


fleet = own_fleet("hostile", 1, ["node01"], "127.0.28.11")


def host_state(host):
    """What no hostile value may change: the running system, the system profile, nix.conf, the
    top-level and home directories (values taken as paths write below SCRATCH or /etc/nixfleet)."""
    return inside(
        host,
        "readlink /run/current-system; ls -l /nix/var/nix/profiles/system* 2>&1; cat /etc/nix/nix.conf; ls -a /; ls ~",
    )  # (Nix makes ~/.nix-profile on first use)


def verdict(result, payload, names):
    """refused (failed, naming the option), carried (the payload is in what came back, as given, or
    the task failed further on, as TAKEN says), done (succeeded), or None: failed otherwise."""
    names = (names,) if isinstance(names, str) else names
    msg = result.get("msg") or ""
    # What the module said: without the loop's own copy of the payload.
    said = json.dumps(
        {k: v for k, v in result.items() if k not in ("item", "ansible_loop_var", "_ansible_item_label")},
        ensure_ascii=False,
    )
    if not result.get("failed"):
        return "done"
    taken = [n[len(TAKEN % "") :] for n in names if n.startswith(TAKEN % "")]
    if any(n in msg for n in names if not n.startswith(TAKEN % "")):
        return "refused"
    if payload[:40] in said or repr(payload)[1:41] in msg or any(t in msg for t in taken):
        return "carried"
    return None


def test_every_option_refuses_or_carries_every_payload(fleet, tmp_path):
    host = fleet["node01"]
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        json.dumps(
            {
                "all": {
                    "hosts": {
                        "node01": {
                            "ansible_host": host.address,
                            "ansible_port": host.port,
                            "ansible_user": host.user,
                            "ansible_ssh_private_key_file": host.private_key,
                            "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes"
                            % host.known_hosts,
                        }
                    }
                }
            }
        )
    )
    before = host_state(host)
    try:
        run = run_playbook(inventory, playbook(tmp_path / "hostile.yml", valid_path()), timeout=1800)
    finally:
        inside(host, "rm -rf %s /etc/nixfleet/hostile.conf" % SCRATCH)
    assert run.rc == 0, run.data["stats"]
    counts, unclear = {"refused": 0, "carried": 0, "done": 0}, []
    for case, _module, _args, option in CASES:
        items = run.results(case)["node01"]["results"]
        assert len(items) == len(PAYLOADS), case
        for payload, result in zip(PAYLOADS, items):
            said = verdict(result, payload, option)
            if said is None:
                unclear.append((case, payload[:40], (result.get("msg") or "")[:300]))
            else:
                counts[said] += 1
    assert not unclear, "\n".join(map(repr, unclear))
    # Nothing ran: no marker on the host or the controller, nothing outside its directory.
    assert inside(host, "ls -d %s %s 2>/dev/null || true" % (MARKER, ESCAPE)).strip() == ""
    assert not os.path.exists(MARKER) and not os.path.exists(ESCAPE)
    assert host_state(host) == before
    print("hostile inputs: %d cases x %d payloads: %s" % (len(CASES), len(PAYLOADS), counts))
