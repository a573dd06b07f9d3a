"""The Markdown documents of the project and their links (see tests/unit/tooling/test_doc_links.py)."""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Set

ROOT = Path(__file__).resolve().parents[2]
# Headings, links and fences as GitHub reads them (inline links only; the documents use no others).
HEADING = re.compile(r"^#{1,6} +(.*?) *#*$")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*```")


@dataclass(frozen=True)
class Link:
    document: Path
    line: int
    target: str

    @property
    def where(self) -> str:
        return "%s:%d %s" % (self.document.relative_to(ROOT), self.line, self.target)

    @property
    def external(self) -> bool:
        return re.match(r"^[a-z][a-z0-9+.-]*:", self.target) is not None


def documents() -> List[Path]:
    """Every Markdown document a reader follows links in (fixture READMEs included)."""
    found = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "tests" / "README.md"]
    found += sorted((ROOT / "docs").glob("*.md")) + sorted((ROOT / "tests" / "fixtures").glob("*/README.md"))
    return [p for p in found if p.exists()]


def _prose(path: Path) -> Iterator[tuple]:
    """(line number, line) outside fenced code blocks."""
    fenced = False
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            yield number, line


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: markup dropped, lower case, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> Set[str]:
    slugs: Set[str] = set()
    for _number, line in _prose(path):
        match = HEADING.match(line)
        if match:
            slug, n = github_slug(match.group(1)), 1
            while slug in slugs:  # GitHub numbers repeated headings
                slug, n = "%s-%d" % (github_slug(match.group(1)), n), n + 1
            slugs.add(slug)
    return slugs


def links(path: Path) -> List[Link]:
    found = []
    for number, line in _prose(path):
        code_free = re.sub(r"`[^`]*`", "", line)
        found += [Link(path, number, m.group(1)) for m in LINK.finditer(code_free)]
    return found
