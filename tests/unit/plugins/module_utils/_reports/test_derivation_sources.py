"""Sources from derivations (module_utils._reports.derivation_sources), on what Nix 2.8, 2.26 and 2.34 really
print for ``nix derivation show --recursive`` (tests/unit/nix_outputs/*/derivation-show.json, made by
record-derivation-show.sh there), and the SBOM components they give."""

import hashlib
from typing import Any, Dict, Optional

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._reports import derivation_sources as ds
from ansible_collections.nixfleet.nixos.plugins.module_utils._reports import sbom as sb
from recorded_outputs import RECORDED_OUTPUTS as OUTPUTS

VERSIONS = ["2.8.0", "2.26.3", "2.34.8"]
# What the recorded fixed-output "fetch" wrote, so its hash is known without reading Nix's.
FETCHED = hashlib.sha256(b"libfoo-source\n").hexdigest()
URLS = ("https://example.org/libfoo-1.0.tar.gz", "https://mirror.example.org/libfoo-1.0.tar.gz")


def recorded(version):
    derivations = ds.parse_derivations((OUTPUTS / version / "derivation-show.json").read_text())
    top = (OUTPUTS / version / "derivation-show.drv").read_text().strip()
    return top, derivations


@pytest.mark.parametrize("version", VERSIONS)
def test_every_nix_gives_the_same_graph_and_sources(version):
    top, derivations = recorded(version)
    assert top in derivations and len(derivations) == 3 and all(d.startswith("/nix/store/") for d in derivations)
    (libfoo,) = derivations[top].inputs
    assert libfoo.endswith("-libfoo-1.0.drv")
    assert ds.sources_of(libfoo, derivations) == [ds.Source(urls=URLS, sha256=FETCHED)]
    assert ds.sources_of(top, derivations) == []  # its input is built, not fetched


@pytest.mark.parametrize("version", VERSIONS)
def test_the_sbom_lists_them_as_source_distributions(version):
    top, derivations = recorded(version)
    (libfoo_drv,) = derivations[top].inputs
    libfoo = derivations[libfoo_drv].env["out"]
    top_path = "/nix/store/%s-top-1" % ("x" * 32)
    infos: Dict[str, Optional[Dict[str, Any]]] = {
        libfoo: {"narHash": "sha256-" + "A" * 43 + "=", "references": [], "deriver": libfoo_drv},
        top_path: {"narHash": "sha256-" + "B" * 43 + "=", "references": [libfoo], "deriver": top},
    }
    sources = ds.sources_by_path(infos, derivations)
    assert list(sources) == [libfoo]
    component = sb.component(libfoo, infos[libfoo] or {}, sources=sources[libfoo])
    assert component["externalReferences"] == [
        {"type": "source-distribution", "url": u, "hashes": [{"alg": "SHA-256", "content": FETCHED}]} for u in URLS
    ]


def test_a_url_of_fetchgit_and_hashes_in_other_spellings():
    env = {"url": "https://git.example.org/r.git", "outputHash": "sha256-" + "A" * 43 + "=", "outputHashAlgo": "sha256"}
    derivations = {
        "/nix/store/a.drv": ds.Derivation(("/nix/store/s.drv",), {}, None),
        "/nix/store/s.drv": ds.Derivation((), env, None),
    }
    (source,) = ds.sources_of("/nix/store/a.drv", derivations)
    assert source.urls == ("https://git.example.org/r.git",) and source.sha256 == "00" * 32
    md5 = ds.Derivation(
        (), {"urls": "ftp://x/y", "outputHash": "d41d8cd98f00b204e9800998ecf8427e", "outputHashAlgo": "md5"}, None
    )
    assert ds.sources_of("/nix/store/a.drv", dict(derivations, **{"/nix/store/s.drv": md5})) == [
        ds.Source(urls=("ftp://x/y",), sha256=None)
    ]


def test_inputs_that_are_not_fetched_or_name_no_url_are_not_sources():
    built = ds.Derivation((), {"urls": "https://x/y"}, None)  # not fixed-output: built, not fetched
    nameless = ds.Derivation((), {"outputHash": "sha256-" + "A" * 43 + "="}, None)
    derivations = {
        "/nix/store/a.drv": ds.Derivation(("/nix/store/b.drv", "/nix/store/c.drv", "/nix/store/gone.drv"), {}, None),
        "/nix/store/b.drv": built,
        "/nix/store/c.drv": nameless,
    }
    assert ds.sources_of("/nix/store/a.drv", derivations) == []


def test_malformed_output_is_refused():
    with pytest.raises(ValueError):
        ds.parse_derivations("[1, 2]")
    with pytest.raises(ValueError):
        ds.parse_derivations('{"/nix/store/a.drv": 3}')
