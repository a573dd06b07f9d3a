"""Pushes to one host take turns (plugins/module_utils/_lifecycle/copy_lock.py), on the fleet with real Nix.

Two pushes of one closure to one host at once (two deploys, two operators, a retried job) make
Nix 2.8 lose its own protocol (``not an absolute path: 'nix-archive-1'``) unless the target's end
of ``nix copy`` waits for the other one.
"""

import subprocess
import threading
import uuid
from typing import List

import pytest
import yaml

from fleetctl import FixtureFlake, holding_lock, inside, nix_env
from fleet_fixtures import own_fleet
from playbook_helpers import PlaybookRun, run_playbook, write_fleet_inventory

pytestmark = pytest.mark.integration

LOCK = "/nix/var/nix/nixfleet-copy.lock"
LEAVES = 40
# One path that references LEAVES paths of 1 MB of random bytes each: a copy long enough, and
# with enough paths, that two copies started together do add the same path at the same time.
MANY_LEAVES = (
    r"""
{ salt }:
let
  mk = name: script: env: derivation ({
    inherit name salt;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-ec" script ];
    PATH = "/usr/local/bin:/usr/bin:/bin";
  } // env);
  leaf = i: mk "leaf-${toString i}" "head -c 1000000 /dev/urandom > $out" { };
in
mk "many-leaves" "echo $leaves > $out" { leaves = builtins.genList leaf %d; }
"""
    % LEAVES
)


fleet = own_fleet("copy-lock", 1, [], "127.0.66.11")


@pytest.fixture(scope="module")
def inventory(fleet, tmp_path_factory):
    flake = FixtureFlake.create(tmp_path_factory.mktemp("copy-lock-flake") / "flake", fleet, {"node01": "plain"})
    directory = tmp_path_factory.mktemp("copy-lock-inventory")
    inv = write_fleet_inventory(directory, fleet, flake)
    (directory / "copy.yml").write_text(
        yaml.safe_dump(
            [
                {
                    "name": "push one closure",
                    "hosts": "node01",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "Copy",
                            "nixfleet.nixos.copy_closure": {
                                "path": "{{ closure }}",
                                "scheme": "{{ scheme }}",
                                "copy_lock_timeout": "{{ wait }}",
                            },
                        }
                    ],
                }
            ]
        )
    )
    return inv


def build_many_leaves(directory):
    """A fresh closure of LEAVES + 1 paths, built in the controller's store."""
    expr = directory / "many-leaves.nix"
    expr.write_text(MANY_LEAVES)
    out = subprocess.run(
        ["nix-build", "--no-out-link", str(expr), "--argstr", "salt", uuid.uuid4().hex],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        env=nix_env(),
        check=True,
    ).stdout.strip()
    closure = subprocess.run(
        ["nix-store", "-qR", out], stdout=subprocess.PIPE, universal_newlines=True, env=nix_env(), check=True
    ).stdout.split()
    assert len(closure) == LEAVES + 1
    return out, closure


def copy(inventory, closure, scheme="ssh-ng", wait=600):
    return run_playbook(
        inventory, str(inventory.parent / "copy.yml"), extra_vars={"closure": closure, "scheme": scheme, "wait": wait}
    )


def valid_on(host, paths):
    """Paths the host's store holds, each checked against its recorded hash."""
    held = inside(
        host,
        "for p in %s; do nix-store --check-validity $p 2>/dev/null && "
        "nix-store --verify-path $p && echo $p; done; true" % " ".join(paths),
    ).split()
    return sorted(held)


@pytest.mark.parametrize("scheme", ["ssh-ng", "ssh"])
def test_two_pushes_of_one_closure_at_once_both_succeed(fleet, inventory, tmp_path, scheme):
    host = fleet["node01"]
    for _round in range(3):
        out, closure = build_many_leaves(tmp_path)
        assert valid_on(host, closure) == []
        runs: List[PlaybookRun] = []
        threads = [
            threading.Thread(target=lambda runs=runs, out=out: runs.append(copy(inventory, out, scheme)))
            for _push in range(2)
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert [r.rc for r in runs] == [0, 0], [r.results("Copy").get("node01", {}).get("msg") for r in runs]
        assert all(r.results("Copy")["node01"]["copied"] for r in runs)
        assert valid_on(host, closure) == sorted(closure)


def test_a_push_that_waits_too_long_names_the_holder_and_copies_nothing(fleet, inventory, tmp_path):
    host = fleet["node01"]
    out, closure = build_many_leaves(tmp_path)
    with holding_lock(host, LOCK, "a copy from 127.0.0.99 since then"):
        blocked = copy(inventory, out, wait=1)
        assert blocked.rc == 2
        result = blocked.results("Copy")["node01"]
        assert not result.get("unreachable")
        assert result["msg"] == (
            "node01: another copy to this host held %s for 1 s: a copy from 127.0.0.99 "
            "since then; nothing was copied or switched" % LOCK
        )
        assert valid_on(host, closure) == []
    done = copy(inventory, out, wait=1)
    assert done.rc == 0, done.results("Copy")
    assert valid_on(host, closure) == sorted(closure)
    # The lock file says who copied last: this controller, over the fleet's loopback.
    assert inside(host, "cat %s.owner" % LOCK).startswith("a copy from 127.0.0.1 since ")
