"""The collection docsite, built the Ansible way and offline: ``antsibull-docs sphinx-init`` and its
``build.sh`` (antsibull-docs renders every plugin, role and guide; Sphinx builds HTML with warnings
as errors), a page for every module, role, filter, the inventory plugin and every guide; and
``antsibull-docs lint-collection-docs`` clean. The guides' pages are what docs/*.md gives
(tests/unit/tooling/test_docsite_sources.py). No fleet needed."""

import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from fleetctl import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import docsite  # noqa: E402

BIN = os.path.dirname(sys.executable)
PAGES = Path("build") / "html" / "collections" / "nixfleet" / "nixos"
# The Ansible docs' targets the generated plugin pages link to. Sphinx resolves them through the
# intersphinx inventory of docs.ansible.com, which is on the internet: this stand-in inventory names
# them, with their addresses there, so the build fetches nothing and an unknown target still fails it.
ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/devel/"
ANSIBLE_TARGETS = [
    ("action_plugins", "std:label", "plugins/action.html#action-plugins", "Action plugins"),
    (
        "common_return_values",
        "std:label",
        "reference_appendices/common_return_values.html#common-return-values",
        "Return Values",
    ),
    (
        "ansible_configuration_settings",
        "std:label",
        "reference_appendices/config.html#ansible-configuration-settings",
        "Ansible Configuration Settings",
    ),
    (
        "ansible_collections.ansible.builtin.copy_module",
        "std:label",
        "collections/ansible/builtin/copy_module.html#ansible-collections-ansible-builtin-copy-module",
        "ansible.builtin.copy module",
    ),
] + [
    (name, "std:envvar", "reference_appendices/config.html#envvar-" + name, "-")
    for name in (
        "ANSIBLE_CACHE_PLUGIN",
        "ANSIBLE_CACHE_PLUGIN_CONNECTION",
        "ANSIBLE_CACHE_PLUGIN_PREFIX",
        "ANSIBLE_CACHE_PLUGIN_TIMEOUT",
    )
]


def write_inventory(path: Path) -> None:
    """A Sphinx intersphinx inventory (version 2: a header, then zlib-compressed lines)."""
    lines = "".join("%s %s -1 %s %s\n" % entry for entry in ANSIBLE_TARGETS)
    header = (
        "# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    path.write_bytes(header.encode() + zlib.compress(lines.encode()))


def run(argv, cwd):
    env = dict(os.environ, PATH="%s:%s" % (BIN, os.environ["PATH"]))
    return subprocess.run(
        argv,
        cwd=str(cwd),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=900,
        check=False,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The built docsite's directory (one build per session: about 10 s)."""
    dest = tmp_path_factory.mktemp("docsite")
    init = run(
        [
            os.path.join(BIN, "antsibull-docs"),
            "sphinx-init",
            "--use-current",
            "--dest-dir",
            str(dest),
            "nixfleet.nixos",
        ],
        ROOT,
    )
    assert init.returncode == 0, init.stdout
    conf = (dest / "conf.py").read_text()
    # The generated configuration fetches inventories from the internet: only the stand-in is read.
    assert re.search(r"^intersphinx_mapping = \{$", conf, re.M), conf
    write_inventory(dest / "ansible_devel.inv")
    local = str(dest / "ansible_devel.inv")
    conf += "\nintersphinx_mapping = {'ansible_devel': (%r, %r)}  # offline\n" % (ANSIBLE_DOCS, local)
    (dest / "conf.py").write_text(conf)
    build = run(["bash", str(dest / "build.sh")], dest)
    assert build.returncode == 0, (
        "\n".join(line for line in build.stdout.splitlines() if "WARNING" in line or "ERROR" in line)[-6000:]
        or build.stdout[-6000:]
    )
    assert "build succeeded" in build.stdout
    return dest


def test_every_plugin_and_role_has_a_page(site):
    pages = site / PAGES
    plugins = root_names("modules", ".py", "_module") + root_names("filter", ".yml", "_filter")
    plugins += root_names("inventory", ".py", "_inventory")
    roles = ["%s_role.html" % p.name for p in (ROOT / "roles").iterdir() if p.is_dir()]
    assert "switch_module.html" in plugins and "flake_inventory.html" in plugins and "deploy_role.html" in roles
    assert sorted(name for name in plugins + roles if not (pages / name).exists()) == []
    switch = (pages / "switch_module.html").read_text()
    assert "nixfleet.nixos.switch" in switch and "magic_rollback" in switch  # the module's own options


def root_names(folder, suffix, kind):
    return [
        "%s%s.html" % (p.name[: -len(suffix)], kind)
        for p in (ROOT / "plugins" / folder).iterdir()
        if p.name.endswith(suffix) and p.name != "__init__.py"
    ]


def test_every_guide_has_a_page(site):
    names = docsite.guide_names()
    assert {"deploy", "safe_deploys", "migration", "performance", "security"} <= set(names)
    for name in names:
        page = (site / PAGES / "docsite" / ("%s.html" % name)).read_text()
        title = docsite.guide_source(name).read_text().splitlines()[0].lstrip("# ")
        assert re.sub(r"`", "", title) in re.sub(r"<[^>]+>", "", page).replace("&#39;", "'"), name
    index = (site / PAGES / "index.html").read_text()
    assert all('href="docsite/%s.html"' % name in index for name in names)


def test_guides_cross_link_on_the_site(site):
    """A guide's link to another guide (here: inventory → deploy's non-root section) is a link of the site."""
    page = (site / PAGES / "docsite" / "inventory.html").read_text()
    assert (
        'href="deploy.html#ansible-collections-nixfleet-nixos-docsite-deploy-a-non-root-deploy-user-with-sudo"' in page
    )


def test_lint_collection_docs_is_clean():
    proc = run(
        [os.path.join(BIN, "antsibull-docs"), "lint-collection-docs", "--plugin-docs", "--check-extra-docs-refs", "."],
        ROOT,
    )
    assert (proc.returncode, proc.stdout) == (0, "")
