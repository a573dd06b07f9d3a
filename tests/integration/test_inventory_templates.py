"""Flake strings that look like templates are never templated, and every other value prints as plain
JSON in ``ansible-inventory --list --export`` (what an AWX inventory update stores).

The hostile values sit where the flake says where a host lives: a colmena tag, a colmena
``targetUser`` and ``networking.fqdn`` (through ``networking.domain``), each a
``{{ lookup('pipe', 'touch MARKER') }}`` with its own marker file; ``compose``, ``groups`` and
``keyed_groups`` read them. No marker may ever appear.
"""

import json
import os
import subprocess

import pytest

from fleetctl import ROOT, FixtureFlake
from fleet_fixtures import own_fleet
from inventory_helpers import BIN, group_hosts, hostvars, inventory_list, raw_hostvars, write_inventory
from playbook_helpers import run_playbook, write_fleet_inventory

pytestmark = pytest.mark.integration

TEMPLATE = "{{ lookup('pipe', 'touch %s') }}"
COMPOSED = ("copied_user", "copied_host", "first_tag")


def unsafe_markings(value):
    """Every string ansible-inventory printed as {"__ansible_unsafe": s}."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return [value["__ansible_unsafe"]]
        return [s for v in value.values() for s in unsafe_markings(v)]
    if isinstance(value, list):
        return [s for v in value for s in unsafe_markings(v)]
    return []


fleet = own_fleet("templates", 1, [], "127.0.66.11")


@pytest.fixture(scope="module")
def markers(tmp_path_factory):
    directory = tmp_path_factory.mktemp("markers")
    return {name: directory / name for name in ("tag", "user", "fqdn")}


@pytest.fixture(scope="module")
def flake(fleet, markers, tmp_path_factory):
    host = fleet.hosts[0]
    return FixtureFlake.from_specs(
        tmp_path_factory.mktemp("templates-flake") / "flake",
        {
            # A real host of the fleet, deployed below: its tag is a template.
            host.name: {
                "address": host.address,
                "port": host.port,
                "user": host.user,
                "shape": "colmena",
                "tags": [TEMPLATE % markers["tag"], "web"],
            },
            "evil-user": {"address": "127.0.66.99", "user": TEMPLATE % markers["user"], "shape": "colmena"},
            "evil-fqdn": {"shape": "plain", "domain": TEMPLATE % markers["fqdn"]},
        },
        host.http_port,
    )


@pytest.fixture(scope="module")
def inventory(fleet, flake, tmp_path_factory):
    inv = write_fleet_inventory(tmp_path_factory.mktemp("templates-inventory"), fleet, flake)
    write_inventory(
        inv,
        flake=str(flake.path),
        compose={
            "copied_user": "ansible_user | default('')",
            "copied_host": "ansible_host",
            "first_tag": "nixos_tags[0] | default('')",
        },
        groups={"webs": "'web' in nixos_tags"},
        keyed_groups=[{"key": "nixos_tags", "prefix": "k"}],
    )
    return inv


def listed(inventory, export=False):
    rc, data, err = inventory_list(inventory, export=export)
    assert rc == 0, err
    return data


def no_marker(markers):
    return [name for name, path in markers.items() if path.exists()] == []


def test_list_and_export_carry_templates_verbatim(fleet, markers, inventory):
    host = fleet.hosts[0].name
    for export in (False, True):
        data = listed(inventory, export)
        assert no_marker(markers)
        hv = hostvars(data)
        assert hv[host]["nixos_tags"] == [TEMPLATE % markers["tag"], "web"]
        assert hv["evil-user"]["ansible_user"] == TEMPLATE % markers["user"]
        assert hv["evil-fqdn"]["ansible_host"] == "evil-fqdn." + TEMPLATE % markers["fqdn"]
        if not export:  # compose and groups saw the verbatim strings, and rendered nothing of them
            assert hv["evil-user"]["copied_user"] == TEMPLATE % markers["user"]
            assert hv["evil-fqdn"]["copied_host"] == "evil-fqdn." + TEMPLATE % markers["fqdn"]
            assert hv[host]["first_tag"] == TEMPLATE % markers["tag"]
            assert group_hosts(data, "webs") == [host] and group_hosts(data, "k_web") == [host]
        # Plain values print plain: only a string that could be a template may be marked unsafe
        # (ansible-core before 2.19 needs it), never an address, a port or a flake ref.
        raw = raw_hostvars(data)
        assert raw[host]["ansible_host"] == fleet.hosts[0].address
        assert isinstance(raw[host]["nixos_flake"], str) and isinstance(raw[host]["ansible_port"], int)
        # (compose's own results are ansible-core's: 2.19+ prints every one of them as unsafe)
        ours = [value for host_vars in raw.values() for name, value in host_vars.items() if name not in COMPOSED]
        assert all("{" in s or "}" in s for s in unsafe_markings(ours)), unsafe_markings(ours)


def test_the_demo_inventory_exports_plain_json():
    data = listed(ROOT / "inventories" / "demo.flake.yml", export=True)
    assert "__ansible_unsafe" not in json.dumps(data)
    assert data["_meta"]["hostvars"]["node01"]["ansible_host"] == "127.0.0.11"


def test_templates_reach_tasks_verbatim(markers, inventory):
    proc = subprocess.run(
        [
            os.path.join(BIN, "ansible"),
            "-i",
            str(inventory),
            "evil-*",
            "-m",
            "ansible.builtin.debug",
            "-a",
            "msg=[{{ copied_user }}|{{ copied_host }}]",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        check=False,
        cwd=str(inventory.parent),
    )
    assert proc.returncode == 0, proc.stdout
    assert "[%s|127.0.66.99]" % (TEMPLATE % markers["user"]) in proc.stdout
    assert "[|evil-fqdn.%s]" % (TEMPLATE % markers["fqdn"]) in proc.stdout
    assert no_marker(markers)


def test_deploy_of_a_host_whose_tag_is_a_template(fleet, markers, inventory):
    host = fleet.hosts[0].name
    run = run_playbook(inventory, "deploy.yml", limit=host)
    assert run.rc == 0, run.stderr
    assert run.results("Copy and switch to the system")[host]["changed"] is True
    assert no_marker(markers)
