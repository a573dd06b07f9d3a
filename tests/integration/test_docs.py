"""ansible-doc renders every plugin of the collection, and every action plugin has its docs module."""

import json
import os
import subprocess
import sys

import pytest
from fleetctl import ROOT

BIN = os.path.dirname(sys.executable)
ACTIONS = sorted(p[:-3] for p in os.listdir(ROOT / "plugins" / "action") if p.endswith(".py"))
MODULES = sorted(p[:-3] for p in os.listdir(ROOT / "plugins" / "modules") if p.endswith(".py"))
FILTERS = sorted(p[:-4] for p in os.listdir(ROOT / "plugins" / "filter") if p.endswith(".yml"))


def ansible_doc(kind, name):
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-doc"), "-t", kind, "--json", "nixfleet.nixos." + name],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)["nixfleet.nixos." + name]


def descriptions(doc, where="description"):
    """Every description text of a plugin's doc, with where it is (YAML turns 'a: b' into a mapping)."""
    found = [
        (where, text) for text in (doc["description"] if isinstance(doc["description"], list) else [doc["description"]])
    ]
    for option, spec in (doc.get("options") or doc.get("suboptions") or {}).items():
        found += descriptions(dict(spec, description=spec.get("description", "")), "%s.%s" % (where, option))
    return found


def test_every_action_plugin_has_a_docs_module():
    assert ACTIONS == MODULES


@pytest.mark.parametrize("name", MODULES)
def test_module_docs(name):
    doc = ansible_doc("module", name)
    assert doc["doc"]["short_description"] and doc["examples"].strip() and doc["return"] is not None
    assert {"check_mode", "diff_mode", "platform"} <= set(doc["doc"]["attributes"])
    for option, spec in doc["doc"]["options"].items():
        assert spec.get("description"), "%s: option %s is undocumented" % (name, option)
    assert [(where, text) for where, text in descriptions(doc["doc"]) if not isinstance(text, str) or not text] == []


@pytest.mark.parametrize("name", FILTERS)
def test_filter_docs(name):
    doc = ansible_doc("filter", name)
    assert doc["doc"]["short_description"] and doc["examples"].strip()
    assert [(where, text) for where, text in descriptions(doc["doc"]) if not isinstance(text, str) or not text] == []


def test_inventory_docs():
    assert ansible_doc("inventory", "flake")["doc"]["options"]["flake"]["description"]
