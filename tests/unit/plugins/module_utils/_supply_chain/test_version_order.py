"""Version order: ours against the real Nix's ``builtins.compareVersions`` on many pairs (one
``nix eval`` of all of them), plus random versions made of the characters that matter; package
specs and their constraints."""

import itertools
import json
import os
import random
import subprocess
import tempfile

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain.package_spec import (
    Clause,
    PackageSpec,
    SpecError,
    parse_constraint,
    parse_spec,
    spec_of,
    split_output,
    store_package,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain.version_order import (
    compare_versions,
    components,
)

# Pairs a reader of names.cc would try: numbers, letters, pre, separators, empty parts, leading
# zeros, digits past a C int, non-ASCII bytes, and nixpkgs' own versions.
VERSIONS = [
    "",
    "0",
    "1",
    "1.0",
    "1.0.0",
    "1.0.1",
    "1.1",
    "1.10",
    "1.9",
    "01",
    "001.2",
    "2",
    "2.3",
    "2.3a",
    "2.3.1",
    "2.3pre1",
    "2.3-pre1",
    "2.3pre",
    "pre",
    "pre1",
    "1pre",
    "1.0pre1",
    "1.0pre2",
    "1.0rc1",
    "1.0-rc1",
    "1.0alpha",
    "1.0beta",
    "1.0a",
    "1.0b",
    "1.0-",
    "1.0.",
    ".1",
    "-1",
    "1..0",
    "1--0",
    "a",
    "b",
    "A",
    "Z",
    "abc",
    "ab",
    "3.0.13",
    "3.0.14",
    "3.0.13-bin",
    "3.0.13a",
    "3.0.9",
    "3.0.10",
    "3.0",
    "3",
    "6.6.1",
    "6.6.10",
    "6.10",
    "unstable-2024-01-05",
    "unstable-2023-12-31",
    "0-unstable-2024-01-05",
    "0.0.0-unstable-2024-01-05",
    "2024-01-05",
    "20240105",
    "1.2.3_4",
    "1.2.3+git",
    "1.2.3~rc1",
    "ß1",
    "1ß",
    "é",
    "e",
    "1é",
    "1.0-ü",
    "2147483647",
    "2147483648",
    "99999999999999999999",
    "1.2147483648",
    "1.2147483647",
    "0002147483647",
    "1.0.0.0.0.1",
    "10.0",
    "9.99",
    "1a2b3c",
    "1a2b3d",
    "p",
    "pr",
    "prerelease",
    "1.0-pre",
    "1.0.pre",
]


def nix_compare(pairs):
    """``builtins.compareVersions`` of each pair, by the Nix on PATH (one evaluation; the pairs are
    read from a JSON file, so no string is quoted for Nix by us)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8") as data:
        json.dump(pairs, data)
        data.flush()
        expr = (
            "map (p: builtins.compareVersions (builtins.elemAt p 0) (builtins.elemAt p 1)) "
            "(builtins.fromJSON (builtins.readFile %s))" % data.name
        )
        env = dict(
            os.environ, NIX_CONFIG=os.environ.get("NIX_CONFIG", "") + "\nexperimental-features = nix-command flakes"
        )
        out = subprocess.run(
            ["nix", "eval", "--json", "--impure", "--expr", expr],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            universal_newlines=True,
            env=env,
            check=True,
        ).stdout
    return json.loads(out)


@pytest.mark.host_tools
def test_every_pair_of_the_list_compares_as_nix_compares_it():
    pairs = [list(p) for p in itertools.product(VERSIONS, repeat=2)]
    expected = nix_compare(pairs)
    assert len(expected) == len(pairs) > 6000
    differ = [
        (a, b, want, compare_versions(a, b)) for (a, b), want in zip(pairs, expected) if compare_versions(a, b) != want
    ]
    assert differ == []
    assert {-1, 0, 1} == set(expected)


@pytest.mark.host_tools
def test_random_versions_compare_as_nix_compares_them():
    rng = random.Random(39)
    alphabet = "0123456789..--abpre" + "zß"
    versions = ["".join(rng.choice(alphabet) for _char in range(rng.randint(0, 9))) for _version in range(1500)]
    versions += ["pre" + v for v in versions[:100]] + [v + "pre" for v in versions[100:200]]
    pairs = [[rng.choice(versions), rng.choice(versions)] for _pair in range(6000)]
    expected = nix_compare(pairs)
    assert [compare_versions(a, b) for a, b in pairs] == expected


def test_known_orders():
    # the documented rules, spelled out (also what the real Nix says, per the tests above)
    assert compare_versions("1.0", "2.3") == -1
    assert compare_versions("2.1", "2.3") == -1
    assert compare_versions("2.3", "2.3") == 0
    assert compare_versions("2.5", "2.3") == 1
    assert compare_versions("3.1", "2.3") == 1
    assert compare_versions("2.3.1", "2.3") == 1
    assert compare_versions("2.3.1", "2.3a") == 1
    assert compare_versions("2.3pre1", "2.3") == -1
    assert compare_versions("2.3", "2.3pre1") == 1
    assert compare_versions("2147483648", "1") == -1  # past a C int: not a number to Nix
    assert components("1.0pre-rc.2") == ["1", "0", "pre", "rc", "2"]
    assert components("1.") == ["1", ""]


@pytest.mark.parametrize(
    "text, name, clauses",
    [
        ("openssl", "openssl", ()),
        ("openssl<3.0.14", "openssl", (Clause("<", "3.0.14"),)),
        ("openssl >=3.0, <3.0.14", "openssl", (Clause(">=", "3.0"), Clause("<", "3.0.14"))),
        ("linux==6.6.1", "linux", (Clause("==", "6.6.1"),)),
        ("nixfleet-base!=1", "nixfleet-base", (Clause("!=", "1"),)),
        ("  a =1 ", "a", (Clause("=", "1"),)),
    ],
)
def test_specs_read(text, name, clauses):
    assert parse_spec(text) == PackageSpec(name, clauses)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "openssl 3.0",
        "openssl<",
        "openssl<<3",
        "openssl<3,",
        "openssl<3 4",
        "<3.0",
        "openssl~3",
        "x\ny",
        "x" * 300,
        "openssl<3.0\0",
    ],
)
def test_bad_specs_are_refused(text):
    with pytest.raises(SpecError):
        parse_spec(text)


def test_a_spec_in_two_places_is_refused_and_one_in_either_taken():
    assert spec_of("openssl", "<3.0.14") == parse_spec("openssl<3.0.14")
    assert spec_of("openssl<3.0.14", None) == spec_of("openssl<3.0.14", "  ")
    with pytest.raises(SpecError, match="one place"):
        spec_of("openssl<3", "<4")
    assert parse_constraint(None) == parse_constraint("") == ()


@pytest.mark.parametrize(
    "constraint, version, holds",
    [
        ("<3.0.14", "3.0.13", True),
        ("<3.0.14", "3.0.14", False),
        ("<3.0.14", "3.0.9", True),
        ("<3.0.14", "3.0.14pre1", True),
        (">=3.0,<3.0.14", "2.9", False),
        (">=3.0,<3.0.14", "3.0", True),
        ("==6.6.1", "6.6.01", True),
        ("!=1", "1", False),
        ("!=1", "2", True),
        (">1.0", "1.0a", True),
        ("<=2", "2", True),
        (">2", "2", False),
        ("", "anything", True),
    ],
)
def test_constraints_hold_in_nix_order(constraint, version, holds):
    assert PackageSpec("p", parse_constraint(constraint)).matches_version(version) is holds


def test_store_paths_read_as_packages_with_their_output():
    base = "/nix/store/" + "a" * 32
    assert store_package(base + "-openssl-3.0.13") == store_package(base + "-openssl-3.0.13")
    pkg = store_package(base + "-openssl-3.0.13-bin")
    assert (pkg.name, pkg.version, pkg.output) == ("openssl", "3.0.13", "bin")
    pkg = store_package(base + "-nixos-system-web-01-24.05")
    assert (pkg.name, pkg.version, pkg.output) == ("nixos-system-web", "01-24.05", "out")
    assert split_output("1.2-rc1") == ("1.2-rc1", "out") and split_output("dev") == ("dev", "out")
