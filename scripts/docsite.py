"""The collection docsite's guides, made from the one source: the Markdown guides in docs/.

antsibull-docs publishes a collection's extra docs from reStructuredText in docs/docsite/rst/, named
by docs/docsite/extra-docs.yml. Each toctree entry NAME there is the guide docs/NAME.md (with ``_``
written ``-``: ``safe_deploys`` is docs/safe-deploys.md); this writes docs/docsite/rst/NAME.rst from
it. Never edit those .rst files: edit the guide and run

    python scripts/docsite.py            # write docs/docsite/rst/*.rst
    python scripts/docsite.py --check    # exit 1 when one is not what its guide gives (the unit test)

Only the Markdown the guides use is understood (headings, paragraphs, lists, fenced code, tables,
inline code, emphasis, links, images); anything else stops the conversion with its line.
"""

import re
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parents[1]
DOCSITE = ROOT / "docs" / "docsite"
COLLECTION = "nixfleet.nixos"
LABEL_PREFIX = "ansible_collections.%s.docsite." % COLLECTION
# Where a link to a file of the repository that is not a guide goes (the docsite has no such page).
REPOSITORY = yaml.safe_load((ROOT / "galaxy.yml").read_text())["repository"] + "/blob/main/"
UNDERLINES = {1: "=", 2: "-", 3: "~", 4: "^"}
# Characters that may stand right before / after inline markup in reStructuredText without "\ ".
BEFORE = set(" \t-:/'\"<([{")
AFTER = set(" \t-.,:;!?\\/'\")]}>")
HEADING_SLUG = re.compile(r"[^\w\- ]")


def guide_names() -> List[str]:
    """The toctree entries of extra-docs.yml, in its order (the docsite's reading order)."""
    config = yaml.safe_load((DOCSITE / "extra-docs.yml").read_text())
    return [
        entry if isinstance(entry, str) else entry["ref"]
        for section in config["sections"]
        for entry in section["toctree"]
    ]


def guide_source(name: str) -> Path:
    return ROOT / "docs" / ("%s.md" % name.replace("_", "-"))


def github_slug(text: str) -> str:
    return HEADING_SLUG.sub("", text.lower()).replace(" ", "-")


def escape(text: str) -> str:
    return re.sub(r"([\\*`|_])", r"\\\1", text)


class Inline:
    """Renders one inline token stream; tracks the last character for markup boundaries."""

    def __init__(self, converter: "Converter") -> None:
        self.converter, self.out = converter, ""
        self.after_markup = False

    def text(self, text: str) -> None:
        if self.after_markup and text and text[0] not in AFTER:
            self.out += "\\ "
        self.after_markup = False
        self.out += escape(text)

    def markup(self, text: str) -> None:
        if self.out and self.out[-1] not in BEFORE and not self.after_markup:
            self.out += "\\ "
        elif self.after_markup:
            self.out += "\\ "
        self.out += text
        self.after_markup = True


def plain(tokens: List[Token]) -> str:
    return "".join(t.content if t.type in ("text", "code_inline") else " " if "break" in t.type else "" for t in tokens)


def literal(code: str) -> str:
    if "``" in code or code.endswith("`") or code != code.strip():
        return ":literal:`%s`" % code.replace("\\", "\\\\").replace("`", "\\`")
    return "``%s``" % code


class Converter:
    def __init__(self, name: str, names: List[str]) -> None:
        self.name, self.names = name, names
        self.path = guide_source(name)
        self.slugs: Dict[str, str] = {}

    def label(self, name: str, slug: Optional[str] = None) -> str:
        return LABEL_PREFIX + name + ("." + slug if slug else "")

    def link_target(self, href: str) -> Tuple[str, str]:
        """('ref', label) for a guide or one of its headings, ('url', url) otherwise."""
        if re.match(r"^[a-z][a-z0-9+.-]*:", href):
            return "url", href
        file, anchor = (href.split("#", 1) + [""])[:2]
        target = (self.path.parent / file).resolve() if file else self.path
        if target.parent == ROOT / "docs" and target.suffix == ".md":
            name = target.stem.replace("-", "_")
            if name in self.names:
                return "ref", self.label(name, anchor or None)
        relative = target.relative_to(ROOT).as_posix()
        return "url", REPOSITORY + relative + ("#" + anchor if anchor else "")

    def inline(self, tokens: List[Token]) -> str:
        r = Inline(self)
        i = 0
        while i < len(tokens):
            t = tokens[i]
            if t.type == "text":
                r.text(t.content)
            elif t.type in ("softbreak", "hardbreak"):
                r.text(" ")
            elif t.type == "code_inline":
                r.markup(literal(t.content))
            elif t.type in ("strong_open", "em_open"):
                close = t.type.replace("_open", "_close")
                j = next(k for k in range(i + 1, len(tokens)) if tokens[k].type == close)
                mark = "**" if t.type == "strong_open" else "*"
                r.markup(mark + escape(plain(tokens[i + 1 : j]).strip()) + mark)
                i = j
            elif t.type == "link_open":
                j = next(k for k in range(i + 1, len(tokens)) if tokens[k].type == "link_close")
                text = plain(tokens[i + 1 : j]).strip()
                kind, target = self.link_target(str(t.attrs["href"]))
                shown = re.sub(r"([\\`<>])", r"\\\1", text)
                if kind == "ref":
                    r.markup(":ref:`%s <%s>`" % (shown, target))
                else:
                    r.markup("`%s <%s>`__" % (shown, target))
                i = j
            elif t.type == "image":
                kind, target = self.link_target(str(t.attrs["src"]))
                r.markup("`%s <%s>`__" % (re.sub(r"([\\`<>])", r"\\\1", plain(t.children or []) or "image"), target))
            else:
                raise ValueError("%s: inline %s not understood" % (self.path, t.type))
            i += 1
        text = r.out
        if re.match(r"^([-*+] |\d+[.)] |\.\. |#\S)", text):
            text = "\\" + text
        return text

    def convert(self, text: Optional[str] = None) -> str:
        """The guide (or ``text``, as if it were the guide) as reStructuredText."""
        md = MarkdownIt("commonmark").enable("table")
        tokens = md.parse(self.path.read_text() if text is None else text)
        lines = [
            ".. Generated from docs/%s by scripts/docsite.py: edit that guide, not this file." % self.path.name,
            "",
            ".. _%s:" % self.label(self.name),
            "",
        ]
        self.blocks(tokens, 0, len(tokens), lines, "")
        while lines and lines[-1] == "":
            lines.pop()
        return "\n".join(lines) + "\n"

    def heading_label(self, text: str) -> str:
        slug, n = github_slug(text), 1
        while slug in self.slugs:
            slug, n = "%s-%d" % (github_slug(text), n), n + 1
        self.slugs[slug] = text
        return slug

    def blocks(self, tokens: List[Token], start: int, end: int, out: List[str], indent: str) -> None:
        i = start
        first_heading = True
        while i < end:
            t = tokens[i]
            if t.type == "heading_open":
                level = int(t.tag[1])
                text = self.inline(tokens[i + 1].children or [])
                slug = self.heading_label(plain(tokens[i + 1].children or []))
                if not (level == 1 and first_heading):
                    out += [".. _%s:" % self.label(self.name, slug), ""]
                first_heading = False
                out += [text, UNDERLINES[level] * (len(text) + 4), ""]
                i += 3
            elif t.type == "paragraph_open":
                out += [indent + self.inline(tokens[i + 1].children or []), ""]
                i += 3
            elif t.type == "fence" or t.type == "code_block":
                language = (t.info or "text").split()[0] if t.type == "fence" else "text"
                out += [indent + ".. code-block:: %s" % language, ""]
                out += [(indent + "  " + line) if line else "" for line in t.content.rstrip("\n").split("\n")]
                out.append("")
                i += 1
            elif t.type in ("bullet_list_open", "ordered_list_open"):
                close = self.matching(tokens, i)
                self.list_items(tokens, i, close, out, indent)
                i = close + 1
            elif t.type == "table_open":
                close = self.matching(tokens, i)
                self.table(tokens[i : close + 1], out, indent)
                i = close + 1
            elif t.type == "hr":
                out += [indent + "----", ""]
                i += 1
            else:
                line = t.map[0] + 1 if t.map else "?"
                raise ValueError("%s:%s: block %s not understood" % (self.path, line, t.type))

    @staticmethod
    def matching(tokens: List[Token], i: int) -> int:
        depth = 0
        for k in range(i, len(tokens)):
            depth += tokens[k].nesting
            if depth == 0:
                return k
        raise ValueError("unclosed %s" % tokens[i].type)

    def list_items(self, tokens: List[Token], start: int, end: int, out: List[str], indent: str) -> None:
        ordered = tokens[start].type == "ordered_list_open"
        number = int(tokens[start].attrs.get("start", 1) or 1) if ordered else 0
        i = start + 1
        while i < end:
            close = self.matching(tokens, i)
            marker = "%d. " % number if ordered else "- "
            number += 1
            item: List[str] = []
            self.blocks(tokens, i + 1, close, item, "")
            while item and item[-1] == "":
                item.pop()
            pad = " " * len(marker)
            for n, line in enumerate(item):
                out.append(indent + (marker if n == 0 else pad) + line if line else "")
            out.append("")
            i = close + 1

    def table(self, tokens: List[Token], out: List[str], indent: str) -> None:
        rows: List[List[str]] = []
        for t in tokens:
            if t.type == "tr_open":
                rows.append([])
            elif t.type == "inline":
                rows[-1].append(self.inline(t.children or []))
        out += [indent + ".. list-table::", indent + "  :header-rows: 1", ""]
        for row in rows:
            for n, cell in enumerate(row):
                out.append(
                    indent + ("  * - " if n == 0 else "    - ") + cell
                    if cell
                    else indent + ("  * -" if n == 0 else "    -")
                )
        out.append("")


def rendered() -> Dict[Path, str]:
    names = guide_names()
    return {DOCSITE / "rst" / ("%s.rst" % name): Converter(name, names).convert() for name in names}


def main(argv: List[str]) -> int:
    pages = rendered()
    if argv[1:] == ["--check"]:
        stale = [str(p.relative_to(ROOT)) for p, text in pages.items() if not p.exists() or p.read_text() != text]
        extra = sorted(str(p.relative_to(ROOT)) for p in (DOCSITE / "rst").glob("*.rst") if p not in pages)
        for name in stale:
            print("%s is not what its guide gives: run python scripts/docsite.py" % name)
        for name in extra:
            print("%s has no guide in docs/docsite/extra-docs.yml" % name)
        return 1 if stale or extra else 0
    (DOCSITE / "rst").mkdir(parents=True, exist_ok=True)
    for path, text in pages.items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
