import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_argv import (
    NixSettings,
    parse_path_info,
    path_info_argv,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_version import NixVersion
from recorded_outputs import RECORDED_OUTPUTS as OUTPUTS


def test_debian_nix_2_8():
    v = NixVersion.parse("nix (Nix) 2.8.0\n")
    assert v.implementation == "Nix" and v.version == (2, 8, 0)
    assert v.supports_flakes
    assert str(v) == "Nix 2.8.0"


def test_lix():
    v = NixVersion.parse("nix (Lix, like Nix) 2.91.1\nSystem type: x86_64-linux")
    assert v.is_lix and v.version == (2, 91, 1)
    assert v.supports_flakes


def test_nix_env_style_output():
    assert NixVersion.parse("nix-env (Nix) 2.8.0").version == (2, 8, 0)


def test_old_nix_has_no_flakes():
    assert not NixVersion.parse("nix (Nix) 2.3.16").supports_flakes


@pytest.mark.parametrize("bad", ["", "command not found", "Nix 2.8"])
def test_unparseable(bad):
    with pytest.raises(ValueError):
        NixVersion.parse(bad)


# Real output of each Nix the matrix runs (Debian 12, 13 and unstable), recorded with
# `nix store add-file` of a file and a missing path: tests/unit/nix_outputs/<version>/.
RECORDED = sorted(p.name for p in OUTPUTS.iterdir() if p.is_dir())


def test_every_debian_nix_is_recorded():
    assert {"2.8.0", "2.26.3"} <= set(RECORDED) and any(v.startswith("2.34.") for v in RECORDED), RECORDED


@pytest.mark.parametrize("version", RECORDED)
def test_recorded_nix_versions_and_path_info(version):
    recorded = OUTPUTS / version
    v = NixVersion.parse((recorded / "version.txt").read_text())
    assert ".".join(map(str, v.version)) == version and not v.is_lix
    present = (recorded / "path.txt").read_text().strip()
    missing = "/nix/store/00000000000000000000000000000000-missing"
    # What we pass: --json-format where this Nix knows it (older ones reject the flag).
    rejects = "unrecognised flag '--json-format'" in (recorded / "json-format.stderr").read_text()
    assert (v.path_info_json_format is None) == rejects
    for name in ("path-info.json", "path-info-f1.json", "path-info-f2.json"):
        if (recorded / name).exists():
            info = parse_path_info((recorded / name).read_text())
            assert info[missing] is None, name
            assert (info[present] or {}).get("narHash") == "sha256-HDfQGvQL4ugGkd48w99EN3ppmvuxfGjwgJZLL9Bx/BM=", name
    assert (recorded / ("path-info-f1.json" if v.path_info_json_format == 1 else "path-info.json")).exists()
    # --json alone is deprecated exactly where we pass a format.
    plain_stderr = recorded / "path-info.stderr"
    if plain_stderr.exists():
        deprecated = "'--json' without '--json-format' is deprecated" in plain_stderr.read_text()
        assert deprecated == (v.path_info_json_format is not None)
        assert "deprecated" not in (recorded / "json-format.stderr").read_text()


def test_json_format_from_2_33_and_never_on_lix():
    assert NixVersion.parse("nix (Nix) 2.32.4").path_info_json_format is None
    assert NixVersion.parse("nix (Nix) 2.33.0").path_info_json_format == 1
    assert NixVersion.parse("nix (Lix, like Nix) 2.94.0").path_info_json_format is None


def test_path_info_argv_passes_the_format():
    argv = path_info_argv(NixSettings(), ["/nix/store/x"], json_format=1)
    assert argv[argv.index("--json") + 1 : argv.index("--json") + 3] == ["--json-format", "1"]
    assert "--json-format" not in path_info_argv(NixSettings(), ["/nix/store/x"])


@pytest.mark.parametrize(
    "output, installable",
    [
        ("nix (Nix) 2.8.0", "/nix/store/x.drv"),  # before 2.15 a bare .drv is its outputs; ^ came in 2.13
        ("nix (Nix) 2.13.3", "/nix/store/x.drv^out"),
        ("nix (Nix) 2.34.8", "/nix/store/x.drv^out"),
        ("nix (Lix, like Nix) 2.91.1", "/nix/store/x.drv^out"),
    ],
)
def test_a_derivations_output_as_an_installable(output, installable):
    assert NixVersion.parse(output).derivation_output("/nix/store/x.drv") == installable
