# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""The one place POSIX shell text for targets (which may have no Python) is made, and reading the
``key<TAB>value`` lines they print back.

A ``Command`` is shell text built only here: from words, each quoted (``argv``), from shell code
the caller declares raw (``raw``: a constant template whose ``@{name}`` holes are filled with
quoted words), and by composing commands (``then``, ``and_then``, ``or_else``, ``pipe``,
``redirect``, ``group``, ``lines``). ``RemoteShell.run`` accepts nothing else, so every piece of
shell text that reaches a target is either a quoted word or found by grepping ``raw(``.
"""

from __future__ import annotations

import re
import shlex
from typing import Iterable, Optional, Sequence, Union, cast

Word = Union[str, int, "Command"]
_HOLE = re.compile(r"@\{([a-z_][a-z0-9_]*)\}")
_REDIRECTIONS = (">", ">>", "<", "2>", "2>>", "&>")
# The only shell syntax this module writes itself: the control operators that compose commands.
_SEQUENCE, _AND, _OR, _PIPE, _NEWLINE = "; ", " && ", " || ", " | ", "\n"
_GROUP_OPEN, _GROUP_CLOSE = "{ ", "; }"
_BUILT_HERE = object()


class Command:
    """POSIX shell text made by this module (construct it with ``argv``, ``raw`` or ``lines``)."""

    __slots__ = ("text",)

    def __init__(self, text: str, key: object = None) -> None:
        if key is not _BUILT_HERE:
            raise TypeError("a Command is built with argv(), raw() or lines(), not from a string")
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return "Command(%r)" % self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Command) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def then(self, other: "Command") -> "Command":
        """``self; other``."""
        return _joined(_SEQUENCE, (self, other))

    def and_then(self, other: "Command") -> "Command":
        """``self && other``."""
        return _joined(_AND, (self, other))

    def or_else(self, other: "Command") -> "Command":
        """``self || other``."""
        return _joined(_OR, (self, other))

    def pipe(self, other: "Command") -> "Command":
        """``self | other``."""
        return _joined(_PIPE, (self, other))

    def group(self) -> "Command":
        """``{ self; }``: one command of the whole (a syntax error anywhere runs none of it)."""
        return _made(_GROUP_OPEN + self.text + _GROUP_CLOSE)

    def redirect(self, operator: str, path: str) -> "Command":
        """``self OPERATOR path`` (``>``, ``>>``, ``<``, ``2>``, ``2>>``, ``&>``; the path one quoted word)."""
        if operator not in _REDIRECTIONS:
            raise ValueError("unknown redirection %r (one of %s)" % (operator, " ".join(_REDIRECTIONS)))
        return _made(self.text + " " + operator + _quote(path))


def _made(text: str) -> Command:
    return Command(text, _BUILT_HERE)


def _command(value: object) -> Command:
    if not isinstance(value, Command):
        raise TypeError("expected a Command, got %s %r" % (type(value).__name__, value))
    return value


def _quote(word: Word) -> str:
    if isinstance(word, bool) or not isinstance(word, (str, int, Command)):
        raise TypeError("a shell word is a string, an integer or a Command, not %s %r" % (type(word).__name__, word))
    text = str(word)
    if "\0" in text:
        raise ValueError("a shell word cannot hold a NUL byte: %r" % text)
    return shlex.quote(text)


def argv(*words: Word) -> Command:
    """A simple command: each word quoted (a ``Command`` given as a word becomes one argument, e.g.
    the script of ``sh -c``)."""
    if not words:
        raise ValueError("a command needs at least one word")
    return _made(" ".join(_quote(word) for word in words))


def raw(template: str, **holes: Union[Word, Sequence[Word]]) -> Command:
    """Shell code written by hand, declared as such. ``template`` is constant code; each ``@{name}``
    in it becomes ``holes[name]``: a string or integer as one quoted word, a list of them as quoted
    words, a ``Command`` as its own text (it is already shell). Every hole must be filled, every
    value used."""
    used = set()

    def fill(match: "re.Match[str]") -> str:
        name = match.group(1)
        if name not in holes:
            raise KeyError("raw(): no value for @{%s}" % name)
        used.add(name)
        value = holes[name]
        if isinstance(value, Command):
            return value.text
        if isinstance(value, (list, tuple)):
            return " ".join(_quote(word) for word in value)
        return _quote(cast(Word, value))

    text = _HOLE.sub(fill, template)
    unused = set(holes) - used
    if unused:
        raise KeyError("raw(): values without a hole: %s" % ", ".join(sorted(unused)))
    return _made(text)


def lines(commands: Iterable[Command]) -> Command:
    """A script: the commands one per line."""
    return _joined(_NEWLINE, commands)


def sequence(commands: Iterable[Command]) -> Command:
    """``a; b; c``."""
    return _joined(_SEQUENCE, commands)


def _joined(operator: str, commands: Iterable[Command]) -> Command:
    """Commands joined by one of the control operators below (every composition goes through here)."""
    return _made(operator.join(_command(c).text for c in commands))


def probe_field(output: str, key: str) -> Optional[str]:
    """The value of the first ``key<TAB>value`` line in ``output`` (None when there is none or it is
    empty): the format of every probe and state line our target commands print."""
    for line in output.splitlines():
        name, sep, value = line.partition("\t")
        if sep and name == key:
            return value.strip() or None
    return None
