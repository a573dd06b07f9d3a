"""The docsite's guide pages (docs/docsite/rst/) are exactly what their one source, the Markdown
guides in docs/, gives through scripts/docsite.py; and that conversion keeps what the text says."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "scripts"))
import docsite  # noqa: E402


def rst(markdown: str) -> str:
    converter = docsite.Converter("deploy", docsite.guide_names())
    return converter.convert(markdown).split("\n", 4)[4]  # without the "generated" comment and page label


def test_the_committed_pages_are_what_the_guides_give(capsys):
    assert docsite.main(["docsite.py", "--check"]) == 0, capsys.readouterr().out


def test_every_guide_in_the_docsite_exists():
    names = docsite.guide_names()
    assert len(names) == len(set(names)) and "safe_deploys" in names
    assert [n for n in names if not docsite.guide_source(n).exists()] == []


def test_inline_markup_keeps_its_boundaries():
    assert (
        rst("The `nixos_deploy_*` vars, `switch`es and `a``b`.\n")
        == "The ``nixos_deploy_*`` vars, ``switch``\\ es and :literal:`a\\`\\`b`.\n"
    )
    assert rst("a_b *c* | d\n") == "a\\_b *c* \\| d\n"


def test_links_become_site_references_or_repository_addresses():
    assert rst("[sudo](deploy.md#a-non-root-deploy-user-with-sudo) and [caches](caches.md).\n") == (
        ":ref:`sudo <ansible_collections.nixfleet.nixos.docsite.deploy.a-non-root-deploy-user-with-sudo>` and "
        ":ref:`caches <ansible_collections.nixfleet.nixos.docsite.caches>`.\n"
    )
    assert (
        rst("[the fleet](../tests/README.md#the-local-fleet-testsfleet)\n")
        == "`the fleet <https://github.com/nixfleet/nixos/blob/main/tests/README.md#the-local-fleet-testsfleet>`__\n"
    )


def test_headings_tables_code_and_lists():
    text = rst(
        "# Title\n\n## A `b` c\n\n| x | y |\n| --- | --- |\n| 1 | |\n\n```yaml\nk: v\n```\n\n"
        "1. one\n   ```console\n   $ ls\n   ```\n"
    )
    assert text == (
        "Title\n=========\n\n"
        ".. _ansible_collections.nixfleet.nixos.docsite.deploy.a-b-c:\n\nA ``b`` c\n-------------\n\n"
        ".. list-table::\n  :header-rows: 1\n\n  * - x\n    - y\n  * - 1\n    -\n\n"
        ".. code-block:: yaml\n\n  k: v\n\n"
        "1. one\n\n   .. code-block:: console\n\n     $ ls\n"
    )


def test_markdown_the_converter_does_not_know_is_an_error():
    with pytest.raises(ValueError, match="block html_block not understood"):
        rst("<div>raw html</div>\n")
