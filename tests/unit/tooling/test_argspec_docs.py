"""Every action plugin's argument spec and its docs module (with the doc fragments it extends) say
the same: the same option names, types, defaults, choices, list element types and required flags.
(ansible-test validate-modules cannot see an action plugin's spec: the docs-only modules have none.)"""

import importlib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
ACTIONS = sorted(p.stem for p in (ROOT / "plugins" / "action").glob("*.py") if p.stem != "__init__")
FRAGMENTS = importlib.import_module("ansible_collections.nixfleet.nixos.plugins.doc_fragments.nix").ModuleDocFragment
KEYS = ("type", "default", "choices", "elements", "required")


def documented_options(name):
    module = importlib.import_module("ansible_collections.nixfleet.nixos.plugins.modules.%s" % name)
    doc = yaml.safe_load(module.DOCUMENTATION)
    options = dict(doc.get("options") or {})
    for fragment in doc.get("extends_documentation_fragment") or []:
        if fragment.startswith("nixfleet.nixos.nix"):
            part = fragment.split(".")[3] if fragment.count(".") == 3 else "DOCUMENTATION"
            options.update(yaml.safe_load(getattr(FRAGMENTS, part.upper())).get("options") or {})
    return options


def normalised(spec):
    """The comparable part of an option: Ansible's defaults made explicit (type str, not required)."""
    out = {k: spec.get(k) for k in KEYS}
    out["type"] = out["type"] or "str"
    out["required"] = bool(out["required"])
    if out["choices"] is not None:
        out["choices"] = sorted(out["choices"])  # a set of values, whatever order each lists them in
    return out


def test_there_is_a_docs_module_per_action_plugin():
    modules = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
    assert modules == ACTIONS


@pytest.mark.parametrize("name", ACTIONS)
def test_the_argument_spec_is_documented_as_it_is(name):
    action = importlib.import_module("ansible_collections.nixfleet.nixos.plugins.action.%s" % name).ActionModule
    spec = {k: normalised(v) for k, v in action.ARGSPEC.items()}
    documented = {k: normalised(v) for k, v in documented_options(name).items()}
    assert sorted(spec) == sorted(documented)
    differ = {k: (v, documented[k]) for k, v in spec.items() if v != documented[k]}
    assert differ == {}, "option: (argument spec, documentation)"
