"""README's layout table names every module of the core and of the controller utilities (a renamed
or new file must be described where a reader looks for it)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_utility_module_is_in_the_layout_table():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Layout"):readme.index("## The local fleet")]
    for directory in ("module_utils", "plugin_utils"):
        row = next(line for line in table.splitlines() if line.startswith("| `plugins/%s/` |" % directory))
        named = set(re.findall(r"`([a-z_0-9]+)`", row))
        files = {p.stem for p in (ROOT / "plugins" / directory).glob("*.py") if p.stem != "__init__"}
        assert sorted(files - named) == [], directory
