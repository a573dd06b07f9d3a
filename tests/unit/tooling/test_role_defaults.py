"""A role variable named after the module option it is passed to (``nixos_deploy_confirm_timeout`` →
``confirm_timeout``) defaults to that option's default: each default is defined once (the action
plugin's argspec, which the docs repeat and test_argspec_docs.py checks), and a role that restates
it says the same. A templated role default (computed from the inventory) restates nothing."""

import importlib
import re
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
PREFIX = "nixfleet.nixos."
ONE_VARIABLE = re.compile(r"^\{\{\s*(\w+)\s*\}\}$")
NO_DEFAULT = object()


def tasks_of(items) -> Iterator[Dict[str, Any]]:
    """Every task of a task list, inside blocks too."""
    for task in items or []:
        yield task
        for part in ("block", "rescue", "always"):
            yield from tasks_of(task.get(part))


def passed_variables() -> Iterator[Tuple[str, str, str, str]]:
    """(role, module, option, variable) for each option a role's task sets to exactly one variable."""
    for tasks_file in sorted(ROOT.glob("roles/*/tasks/*.yml")):
        role = tasks_file.parts[-3]
        for task in tasks_of(yaml.safe_load(tasks_file.read_text())):
            for key, args in task.items():
                if key.startswith(PREFIX) and isinstance(args, dict):
                    for option, value in args.items():
                        found = ONE_VARIABLE.match(value) if isinstance(value, str) else None
                        if found:
                            yield role, key[len(PREFIX) :], option, found.group(1)


def option_default(module: str, option: str):
    spec = importlib.import_module("ansible_collections.nixfleet.nixos.plugins.action.%s" % module).ActionModule.ARGSPEC
    return spec[option].get("default", NO_DEFAULT) if option in spec else NO_DEFAULT


CASES = sorted(set(passed_variables()))


def test_the_roles_restate_module_defaults():
    restating = [case for case in CASES if case[3].endswith("_" + case[2])]
    assert len(restating) > 20 and {case[0] for case in restating} >= {"deploy", "profile", "sops_age"}


@pytest.mark.parametrize("role,module,option,variable", CASES)
def test_a_role_default_is_the_modules_default(role, module, option, variable):
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}
    default = option_default(module, option)
    restated = defaults.get(variable)
    if (
        not variable.endswith("_" + option)
        or default is NO_DEFAULT
        or variable not in defaults
        or (isinstance(restated, str) and "{{" in restated)
    ):
        return  # not a restatement of this option's default
    assert restated == default, (role, variable, module, option)
