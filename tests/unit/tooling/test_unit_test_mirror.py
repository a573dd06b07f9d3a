"""The unit tests mirror the code: every module of the core's and the controller utilities' domain
packages has ``tests/unit/plugins/<folder>/<package>/test_<module>.py``, every action plugin
``tests/unit/plugins/action/test_action_<name>.py``, and no unit test file is named after a module
that does not exist (a renamed module takes its tests' name along)."""

from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[3]
UNIT = ROOT / "tests" / "unit" / "plugins"
# Test files that are not named after one module, and what they test.
NOT_ONE_MODULE: Dict[str, str] = {
    "module_utils/_transaction/test_deploy_script.py": "deploy.sh itself, run with sh on a stand-in host",
    "module_utils/_transaction/test_deploy_script_deploy_rs.py": "deploy.sh activating a deploy-rs profile",
}


def modules(folder: str) -> List[Path]:
    return sorted(p for p in (ROOT / "plugins" / folder).glob("_*/*.py") if p.name != "__init__.py")


def test_every_utility_module_has_its_test_file():
    missing = []
    for folder in ("module_utils", "plugin_utils"):
        found = modules(folder)
        assert len(found) > 30, folder
        for module in found:
            test = UNIT / folder / module.parent.name / ("test_%s.py" % module.stem)
            if not test.is_file():
                missing.append(str(test.relative_to(ROOT)))
    assert missing == []


def test_every_action_plugin_has_its_test_file():
    actions = sorted(p.stem for p in (ROOT / "plugins" / "action").glob("*.py") if p.name != "__init__.py")
    assert len(actions) > 20
    missing = [a for a in actions if not (UNIT / "action" / ("test_action_%s.py" % a)).is_file()]
    assert missing == []


def test_every_unit_test_file_is_named_after_what_it_tests():
    strays = []
    for folder in ("module_utils", "plugin_utils"):
        for test in sorted((UNIT / folder).glob("*/test_*.py")):
            name = "%s/%s/%s" % (folder, test.parent.name, test.name)
            module = ROOT / "plugins" / folder / test.parent.name / (test.name[len("test_") :])
            if not module.is_file() and name not in NOT_ONE_MODULE:
                strays.append(name)
        assert not list((UNIT / folder).glob("test_*.py")), "%s: a test outside its package's folder" % folder
    for test in sorted((UNIT / "action").glob("test_*.py")):
        if not (ROOT / "plugins" / "action" / test.name[len("test_action_") :]).is_file():
            strays.append("action/" + test.name)
    assert strays == []
