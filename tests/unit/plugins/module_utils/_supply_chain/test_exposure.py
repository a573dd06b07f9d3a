"""Exposure of a package in a host's systems: the reference graph from Nix's real ``nix-store
--query --graph`` output (tests/unit/nix_outputs/*/graph.txt, recorded by record-graph.sh), the
chains that pull a package in, the scan's parsing, the report; the scan command run by a real shell
against a fake ``nix-store`` that records its arguments."""

import os
import stat
import subprocess
from pathlib import Path

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain import closure_graph as cg, exposure as ex
from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain import exposure_report as er
from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain.package_spec import parse_spec

OUTPUTS = Path(__file__).resolve().parents[3] / "nix_outputs"
RECORDED = sorted(p.parent.name for p in OUTPUTS.glob("*/graph.txt"))


def recorded(version):
    text = (OUTPUTS / version / "graph.txt").read_text()
    old, new = (OUTPUTS / version / "graph-roots.txt").read_text().split()
    return cg.parse_dot(text), old, new


def edges_of(graph):
    return {(a, b) for a, refs in graph.references.items() for b in refs}


def named(graph, suffix):
    (path,) = [p for p in graph.references if p.endswith("-" + suffix)]
    return path


@pytest.mark.parametrize("version", RECORDED)
def test_the_dot_graph_reads_as_the_references(version):
    graph, old, new = recorded(version)
    # As record-graph.sh made them: new -> curl, app; curl -> openssl-3.0.13; app -> openssl-3.0.13
    # and openssl-3.0.13-bin; -bin -> openssl-3.0.13; old -> its own curl and app -> openssl-3.0.14.
    openssl, binary = named(graph, "openssl-3.0.13"), named(graph, "openssl-3.0.13-bin")
    by_name = {p.split("-", 1)[1]: p for p in graph.references[new]}
    assert sorted(by_name) == ["app-1.0", "curl-8.5.0"]
    assert graph.references[by_name["curl-8.5.0"]] == [openssl]
    assert sorted(graph.references[by_name["app-1.0"]]) == sorted([openssl, binary])
    assert graph.references[binary] == [openssl] and graph.references[openssl] == []
    old_libs = set(graph.closure(old)) - {old}
    assert sorted(p.split("-", 1)[1] for p in old_libs) == ["app-1.0", "curl-8.5.0", "openssl-3.0.14"]
    assert len(graph.closure(new)) == 5 and set(graph.closure(old)).isdisjoint({openssl, binary})
    assert all(p.startswith("/nix/store/") for p in graph.references)


@pytest.mark.parametrize("version", RECORDED)
def test_each_match_has_a_shortest_chain_of_references(version):
    graph, old, new = recorded(version)
    matches = cg.find(graph, new, parse_spec("openssl<3.0.14"))
    assert [(m.package.version, m.package.output) for m in matches] == [("3.0.13", "out"), ("3.0.13", "bin")]
    edges = edges_of(graph)
    for match in matches:
        assert match.chain[0] == new and match.chain[-1] == match.package.path
        assert all((a, b) in edges for a, b in zip(match.chain, match.chain[1:]))
        assert len(match.chain) == 3  # system -> curl or app -> openssl / system -> app -> openssl-bin
    assert cg.find(graph, old, parse_spec("openssl<3.0.14")) == []
    assert [m.package.version for m in cg.find(graph, old, parse_spec("openssl"))] == ["3.0.14"]
    assert [p.version for p in graph.packages(new, "openssl")] == ["3.0.13", "3.0.13"]


def test_chains_are_the_same_whatever_order_the_edges_came_in():
    refs = {"/s/top": ["/s/b", "/s/a"], "/s/a": ["/s/x"], "/s/b": ["/s/x"], "/s/x": []}
    one = cg.ClosureGraph({k: list(v) for k, v in refs.items()})
    two = cg.ClosureGraph({k: list(reversed(v)) for k, v in reversed(list(refs.items()))})
    assert one.chain("/s/top", "/s/x") == two.chain("/s/top", "/s/x") == ["/s/top", "/s/a", "/s/x"]
    assert one.chain("/s/top", "/s/missing") is None and one.closure("/s/unknown") == []


def test_graphs_from_path_info_and_from_an_sbom_agree():
    infos = {
        "/nix/store/%s-top" % ("a" * 32): {"references": ["/nix/store/%s-lib-1" % ("b" * 32)]},
        "/nix/store/%s-lib-1" % ("b" * 32): {"references": ["/nix/store/%s-lib-1" % ("b" * 32)]},
    }
    from_info = cg.from_path_info(infos)
    bom = {
        "metadata": {"component": {"bom-ref": "/nix/store/%s-top" % ("a" * 32)}},
        "components": [{"bom-ref": "/nix/store/%s-lib-1" % ("b" * 32)}],
        "dependencies": [{"ref": p, "dependsOn": [r for r in i["references"] if r != p]} for p, i in infos.items()],
    }
    assert cg.from_sbom(bom).references == from_info.references
    assert from_info.references["/nix/store/%s-lib-1" % ("b" * 32)] == []  # a self-reference is no edge


def scan_output(graph_text, old, new):
    return (
        "profile\tsystem-2-link\n"
        "generation\tsystem-1-link\t%s\t1700000000\t\n"
        "generation\tsystem-2-link\t%s\t1700000100\t\n"
        "running\t%s\nbooted\t%s\nrunning_kernel\t\nbooted_kernel\t\nsystemd\tno\n"
        "exposure\tgraph\n%s" % (old, new, new, old, graph_text)
    )


@pytest.mark.parametrize("version", RECORDED)
def test_a_scan_reads_as_systems_in_their_roles(version):
    _graph, old, new = recorded(version)
    state, graph = ex.parse_scan(
        "/nix/var/nix/profiles/system", scan_output((OUTPUTS / version / "graph.txt").read_text(), old, new)
    )
    systems = ex.systems_of(state)
    assert [(s.path, s.roles) for s in systems] == [
        (new, ["running", "generation 2 (current)"]),
        (old, ["booted", "generation 1"]),
    ]
    found = ex.exposure("web-01", parse_spec("openssl<3.0.14"), systems, graph).to_dict()
    assert (found["running_exposed"], found["booted_exposed"], found["exposed_generations"]) == (True, False, [2])
    assert [s["versions"] for s in found["systems"]] == [["3.0.13"], ["3.0.14"]]
    text = er.table([found, {"host": "web-02", "error": "unreachable", "systems": []}])
    assert "openssl <3.0.14 running now on 1 of 2 hosts: web-01" in text
    assert "after the next boot (the profile's current generation) on 1 of 2 hosts: web-01" in text
    assert "after a rollback" not in text and "not read: web-02" in text
    assert " → openssl-3.0.13" in text and "nixos-system-web-01-2 → " in text
    assert er.markdown([found]).startswith("# Package exposure\n\n| host | system |")


def test_a_scan_without_its_graph_is_an_error():
    with pytest.raises(ValueError, match="no graph"):
        ex.parse_scan("/nix/var/nix/profiles/system", "profile\t\nrunning\t\n")


def test_the_scan_command_passes_every_existing_system_to_one_nix_store(tmp_path):
    """The real command, in a real shell: a fake nix-store records its arguments; links that point
    nowhere are left out."""
    store = tmp_path / "store"
    store.mkdir()
    for name in ("a", "b"):
        (store / name).mkdir()
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    os.symlink(str(store / "a"), str(profiles / "system-1-link"))
    os.symlink(str(store / "b"), str(profiles / "system-2-link"))
    os.symlink(str(store / "gone"), str(profiles / "system-3-link"))
    os.symlink("system-2-link", str(profiles / "system"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "nix-store"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do printf "arg %s\\n" "$a"; done\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    command = ex.scan_command(str(profiles / "system"))
    out = subprocess.run(
        ["/bin/sh", "-c", command.text],
        stdout=subprocess.PIPE,
        universal_newlines=True,
        env={"PATH": "%s:/usr/bin:/bin" % bin_dir},
        check=True,
    ).stdout
    head, _sep, graph = out.partition("exposure\tgraph\n")
    assert graph.splitlines() == [
        "arg --query",
        "arg --graph",
        "arg %s/system-1-link" % profiles,
        "arg %s/system-2-link" % profiles,
    ]
    assert "running\t\n" in head  # no /run/current-system here
