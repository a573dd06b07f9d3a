"""Every link between the project's Markdown documents leads somewhere: the file exists, and a
``#anchor`` is a heading of the document it names (moving a section must move its links)."""

from doc_links import ROOT, anchors, documents, github_slug, links


def test_github_slugs():
    """As GitHub makes them (checked against the anchors GitHub renders for these headings)."""
    assert (
        github_slug("Pre-built deploys (`build.yml`, then `deploy.yml`)") == "pre-built-deploys-buildyml-then-deployyml"
    )
    assert github_slug("A non-root deploy user with sudo") == "a-non-root-deploy-user-with-sudo"
    assert github_slug("The version matrix (`tests/matrix/`)") == "the-version-matrix-testsmatrix"


def test_every_document_link_resolves():
    broken = []
    for document in documents():
        for link in links(document):
            if link.external:
                continue
            name, anchor = (link.target.split("#", 1) + [""])[:2]
            target = (document.parent / name).resolve() if name else document
            if not target.exists() or ROOT not in target.parents and target != ROOT:
                broken.append(link.where + ": no such file")
            elif anchor and target.suffix == ".md" and anchor not in anchors(target):
                broken.append(link.where + ": no such heading")
    assert broken == []


def test_the_documents_have_links_to_check():
    """The reader above finds the README's guide links (a reader that finds nothing checks nothing)."""
    readme = {link.target for link in links(ROOT / "README.md")}
    assert {"docs/deploy.md", "docs/safe-deploys.md", "CONTRIBUTING.md", "tests/README.md"} <= readme
