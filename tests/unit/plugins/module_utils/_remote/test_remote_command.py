"""The remote command type (``module_utils._remote.remote_command``): words arrive exactly as given, whatever they
hold, because a real ``sh`` runs what the type made and an argv printer reports what it received;
shell text enters only through ``raw()``."""

import subprocess

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import (
    Command,
    argv,
    lines,
    raw,
    sequence,
)
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.remote_shell import checked

# Any text a user, a flake or an inventory could hand us: every Unicode character a process argument
# can carry (no NUL, no lone surrogates), with the shell's own metacharacters made frequent.
FRAGMENTS = st.sampled_from(
    list("$`;&|<>(){}[]*?~!#'\"\\ \t\n=-@%^")
    + [
        "${IFS}",
        "$(touch pwned)",
        "`touch pwned`",
        "; touch pwned",
        "&& touch pwned",
        "| touch pwned",
        "../",
        "-rf",
        "{{ lookup('pipe', 'touch pwned') }}",
        "@{a}",
        "'\\''",
    ]
)
HOSTILE = st.lists(
    st.one_of(FRAGMENTS, st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")), max_size=12
).map("".join)
WORDS = st.lists(HOSTILE, min_size=1, max_size=6)
PRINTER = "printf '%s\\0'"  # dash's builtin: each argument, NUL-terminated


def received(command: Command, cwd) -> list:
    """The arguments ``printf`` got when ``sh -c`` ran ``command``."""
    proc = subprocess.run(
        ["sh", "-c", command.text], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(cwd), check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode("utf-8").split("\0")[:-1]


@settings(max_examples=300, deadline=None, database=None)  # no example database left behind
@given(WORDS)
def test_argv_words_arrive_exactly(tmp_path_factory, words):
    cwd = tmp_path_factory.mktemp("argv")
    assert received(argv("printf", "%s\\0", *words), cwd) == words
    assert list(cwd.iterdir()) == []  # nothing ran that could make a file


@settings(max_examples=300, deadline=None, database=None)  # no example database left behind
@given(WORDS, HOSTILE)
def test_raw_holes_arrive_exactly_and_nested_commands_are_quoted_once_more(tmp_path_factory, words, one):
    cwd = tmp_path_factory.mktemp("raw")
    inner = raw(PRINTER + " @{words} @{one}", words=words, one=one)
    assert received(inner, cwd) == words + [one]
    # A command given as a word is one argument (sh -c SCRIPT): quoted again, it still arrives exact.
    assert received(argv("sh", "-c", inner), cwd) == words + [one]
    # Composed, the parts keep their words.
    assert received(inner.and_then(argv("printf", "%s\\0", one)).group(), cwd) == words + [one, one]
    assert list(cwd.iterdir()) == []


@settings(max_examples=100, deadline=None, database=None)  # no example database left behind
@given(HOSTILE)
def test_a_value_is_never_read_as_a_hole(value):
    # The template is filled once: a value holding "@{x}" stays text.
    assert raw("@{a} @{b}", a="@{b}", b=value).text.startswith("'@{b}' ")


def test_redirections_and_sequences(tmp_path):
    target = tmp_path / "a file; $(touch pwned)"
    run = lines([argv("echo", "one").redirect(">", str(target)), argv("echo", "two").redirect(">>", str(target))])
    subprocess.run(["sh", "-c", run.text], check=True, cwd=str(tmp_path))
    assert target.read_text() == "one\ntwo\n" and sorted(p.name for p in tmp_path.iterdir()) == [target.name]
    assert argv("true").or_else(argv("false")).text == "true || false"
    assert sequence([argv("a"), argv("b c")]).text == "a; 'b c'"
    assert argv("a").then(argv("b")).pipe(argv("c")).text == "a; b | c"
    with pytest.raises(ValueError, match="unknown redirection"):
        argv("echo").redirect(">&", "x")


def test_what_is_refused():
    with pytest.raises(TypeError, match="built with argv"):
        Command("rm -rf /")  # no Command from a string
    with pytest.raises(ValueError, match="NUL"):
        argv("echo", "a\0b")  # no process argument can carry it
    with pytest.raises(TypeError):
        argv("echo", None)  # type: ignore[arg-type]  # (the wrong type is the test)
    with pytest.raises(TypeError):
        argv("echo", True)
    with pytest.raises(TypeError, match="expected a Command"):
        argv("a").and_then("b")  # type: ignore[arg-type]  # (the wrong type is the test)
    with pytest.raises(KeyError, match="no value for @{missing}"):
        raw("echo @{missing}")
    with pytest.raises(KeyError, match="without a hole: extra"):
        raw("echo", extra="x")
    with pytest.raises(ValueError, match="at least one word"):
        argv()


def test_integers_and_word_lists():
    assert argv("sleep", 5).text == "sleep 5"
    assert raw("ls @{paths}", paths=["a b", "c"]).text == "ls 'a b' c"
    assert raw("x @{cmd}", cmd=argv("echo", "a b")).text == "x echo 'a b'"


def test_no_remote_command_is_a_string():
    """The shells refuse anything but a Command."""
    with pytest.raises(TypeError, match="is a remote_command.Command"):
        checked("echo hi")  # type: ignore[arg-type]  # (the wrong type is the test)
