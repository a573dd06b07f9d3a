"""``nix store diff-closures`` read package by package, on what Nix 2.8, 2.26 and 2.34 really print
(tests/unit/nix_outputs/*/diff-closures.txt, made by record-diff-closures.sh there)."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._reports.package_diff import (
    PackageChange,
    parse_diff_closures,
    without_colours,
)
from recorded_outputs import RECORDED_OUTPUTS as OUTPUTS

VERSIONS = ["2.8.0", "2.26.3", "2.34.8"]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_nix_reads_the_same(version):
    changes = {c.name: c for c in parse_diff_closures((OUTPUTS / version / "diff-closures.txt").read_text())}
    # The recorded closures: libfoo 1.0 (10000 bytes of data) → 1.1 (60000), added-3.0 (20000) new,
    # removed-0.5 (3000, under Nix's 8 KiB threshold: no size) gone, shrunk-4 40000 → 1000 bytes.
    assert sorted(changes) == ["added", "libfoo", "removed", "shrunk", "top"]
    assert changes["libfoo"] == PackageChange("libfoo", ("1.0",), ("1.1",), int(round(48.8 * 1024)))
    assert changes["added"] == PackageChange("added", (), ("3.0",), int(round(19.8 * 1024)))
    assert changes["removed"] == PackageChange("removed", ("0.5",), (), None)
    assert changes["shrunk"] == PackageChange("shrunk", (), (), -int(round(38.1 * 1024)))
    assert changes["top"] == PackageChange("top", ("1",), ("2",), None)
    assert [changes[n].kind for n in ("libfoo", "added", "removed", "shrunk")] == [
        "changed",
        "added",
        "removed",
        "size",
    ]
    assert changes["libfoo"].describe() == "libfoo 1.0 → 1.1 (+48.8 KiB)"
    assert changes["added"].describe() == "+ added 3.0 (+19.8 KiB)"
    assert changes["removed"].describe() == "- removed 0.5"
    assert changes["shrunk"].describe() == "shrunk (-38.1 KiB)"
    assert "\x1b" not in without_colours((OUTPUTS / version / "diff-closures.txt").read_text())


def test_several_versions_and_empty_ones():
    changes = parse_diff_closures(
        "python3: 3.11.9, 3.12.4 → 3.12.5, +1024.0 KiB\nglibc-locales: ε → 2.39\n"
        "(the closures have the same packages)\nnot a change line\n"
    )
    assert changes == [
        PackageChange("python3", ("3.11.9", "3.12.4"), ("3.12.5",), 1024 * 1024),
        PackageChange("glibc-locales", ("",), ("2.39",), None),
    ]
    assert changes[0].to_dict() == {
        "name": "python3",
        "before": ["3.11.9", "3.12.4"],
        "after": ["3.12.5"],
        "size_delta": 1048576,
        "kind": "changed",
    }
    assert changes[1].describe() == "glibc-locales ε → 2.39"
