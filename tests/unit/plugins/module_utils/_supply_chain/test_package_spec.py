"""A package and its version constraint (module_utils._supply_chain.package_spec): parsing, the clauses'
order (Nix's version order: 3.0.9 < 3.0.14, 3.0 < 3.0.1, 1.2pre < 1.2), store paths as packages,
and the errors of what cannot be read."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain import package_spec as ps


def test_a_name_alone_means_every_version():
    spec = ps.parse_spec("openssl")
    assert spec == ps.PackageSpec("openssl") and spec.constraint == "" and str(spec) == "openssl"
    assert spec.matches_version("0.1") and spec.matches_version("99")


def test_clauses_with_and_without_spaces_all_hold():
    spec = ps.parse_spec("openssl >=3.0, <3.0.14")
    assert spec.name == "openssl" and spec.clauses == (ps.Clause(">=", "3.0"), ps.Clause("<", "3.0.14"))
    assert spec.constraint == ">=3.0,<3.0.14" and str(spec) == "openssl >=3.0,<3.0.14"
    assert spec == ps.parse_spec("openssl>=3.0,<3.0.14")
    assert spec.matches_version("3.0.9") and spec.matches_version("3.0.13") and spec.matches_version("3.0")
    assert not spec.matches_version("3.0.14") and not spec.matches_version("2.9") and not spec.matches_version("3.1")


# ascending in Nix's version order: "pre" before the release, numbers as numbers, more parts later
ASCENDING = ["1.2pre", "1.2", "1.2.1", "1.10", "3.0", "3.0.9", "3.0.13", "3.0.14", "6.6", "6.6.1", "6.6.10"]
HOLDS = {
    "<": lambda i, j: i < j,
    "<=": lambda i, j: i <= j,
    ">": lambda i, j: i > j,
    ">=": lambda i, j: i >= j,
    "==": lambda i, j: i == j,
    "=": lambda i, j: i == j,
    "!=": lambda i, j: i != j,
}


@pytest.mark.parametrize("op", sorted(HOLDS))
@pytest.mark.parametrize("pivot", ["1.2", "3.0.14", "6.6.1"])
def test_each_operator_in_nixs_version_order(op, pivot):
    clause = ps.Clause(op, pivot)
    for i, candidate in enumerate(ASCENDING):
        assert clause.holds(candidate) == HOLDS[op](i, ASCENDING.index(pivot)), (candidate, op, pivot)


def test_a_store_path_as_a_package_with_its_output():
    openssl = "/nix/store/yxnzzayk16xyxgwszif6q2aafg3i1znz-openssl-3.0.13"
    assert ps.store_package(openssl) == ps.StorePackage(openssl, "openssl", "3.0.13", "out")
    assert ps.store_package(openssl + "-bin") == ps.StorePackage(openssl + "-bin", "openssl", "3.0.13", "bin")
    drv = "/nix/store/5nvcsv3dp22kyk8avij56lhni4z88pam-curl-8.5.0.drv"
    assert ps.store_package(drv) == ps.StorePackage(drv, "curl", "8.5.0", "out")
    assert ps.split_output("3.0.13-dev") == ("3.0.13", "dev")
    assert ps.split_output("3.0.13-rc1") == ("3.0.13-rc1", "out")  # not an output's name
    assert ps.split_output("bin") == ("bin", "out")


def test_a_name_and_a_separate_version():
    assert ps.spec_of("openssl", "<3.0.14") == ps.PackageSpec("openssl", (ps.Clause("<", "3.0.14"),))
    assert ps.spec_of("openssl<3.0.14") == ps.parse_spec("openssl<3.0.14")
    assert ps.spec_of("openssl", "  ") == ps.spec_of("openssl", None) == ps.PackageSpec("openssl")
    with pytest.raises(ps.SpecError, match="already has a version constraint; give it in one place"):
        ps.spec_of("openssl<3", "<3.0.14")
    with pytest.raises(ps.SpecError, match="package version '3.0.14'"):
        ps.spec_of("openssl", "3.0.14")
    assert ps.parse_constraint(None) == () and ps.parse_constraint("  ") == ()


@pytest.mark.parametrize(
    "text,message",
    [
        ("openssl<", "after the name, a version constraint"),
        ("openssl ~3.0", "after the name, a version constraint"),
        ("openssl<3.0;rm -rf /", "after the name, a version constraint"),
        ("<3.0", "give a package name"),
        ("", "give a package name"),
        ("openssl\n<3", "no control characters"),
        ("a" * 257, "at most 256 characters"),
    ],
)
def test_what_cannot_be_read_is_named(text, message):
    with pytest.raises(ps.SpecError, match=message):
        ps.parse_spec(text)


def test_only_strings():
    with pytest.raises(ps.SpecError, match="package must be a string, not int"):
        ps.parse_spec(3)  # type: ignore[arg-type]
    with pytest.raises(ps.SpecError, match="version must be a string, not list"):
        ps.parse_constraint(["<3"])  # type: ignore[arg-type]
