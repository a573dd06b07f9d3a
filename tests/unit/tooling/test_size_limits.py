"""The limits that keep the collection easy to carry on: the README stays a short entry page (at most
15 KB: the guides are in docs/), and no code file is past 400 lines (split by concept instead)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
README_LIMIT = 15 * 1024  # bytes
LINE_LIMIT = 400
CODE = (".py", ".sh")


def code_files():
    """The project's code files (not a work tree's hidden folders: .venv, caches, state)."""
    return [
        f
        for f in ROOT.rglob("*")
        if f.suffix in CODE and f.is_file() and not any(part.startswith(".") for part in f.relative_to(ROOT).parts)
    ]


def test_the_readme_is_at_most_15_kb():
    assert (ROOT / "README.md").stat().st_size <= README_LIMIT


def test_no_code_file_is_past_400_lines():
    files = code_files()
    assert len(files) > 200  # the tree was read
    long = {str(f.relative_to(ROOT)): n for f in files if (n := len(f.read_text().splitlines())) > LINE_LIMIT}
    assert long == {}
