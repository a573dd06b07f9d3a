"""The reference graph (module_utils._supply_chain.closure_graph), read from the real
``nix-store --query --graph`` of tests/unit/nix_outputs/2.8.0/graph.txt (record-graph.sh: system 1 is
top -> app-1.0 -> openssl-3.0.14 and top -> curl-8.5.0 -> openssl-3.0.14; system 2 is top -> curl ->
openssl-3.0.13, top -> app -> openssl-3.0.13-bin -> openssl-3.0.13 and app -> openssl-3.0.13), from
path-info's references and from an SBOM's dependencies."""

from typing import Any, Dict, Optional

import pytest


from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain import closure_graph as cg
from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain.package_spec import parse_spec
from recorded_outputs import RECORDED_OUTPUTS as OUTPUTS, recorded_graph

RECORDED = sorted(p.parent.name for p in OUTPUTS.glob("*/graph.txt"))
S = "/nix/store/"
# the store paths of the 2.8.0 recording (graph-roots.txt and graph.txt)
TOP1 = S + "r377faswfmbj42h0amx2fxl615iga4rf-nixos-system-web-01-1"
APP1 = S + "i7yb9zn7n5anzvbl36g4nzx714ff50li-app-1.0"
CURL1 = S + "zf3c7xrjjxcv6vrh7zvvr8h4l66v8qyb-curl-8.5.0"
SSL14 = S + "zx0mg30azsdbw2mg9h3y57b91rbgmrcx-openssl-3.0.14"
TOP2 = S + "dihyi03kfycrg7ci1nymakrs1wyixw2w-nixos-system-web-01-2"
APP2 = S + "m1a304fqifapd7175dv1a36qwk42p2jg-app-1.0"
CURL2 = S + "5rqh4205nl4nypsjyrfxz8nf357ca3sq-curl-8.5.0"
SSL13 = S + "yxnzzayk16xyxgwszif6q2aafg3i1znz-openssl-3.0.13"
SSL13_BIN = S + "0hr9nzwq720gvcqivay9nxp9ayms3mz7-openssl-3.0.13-bin"


def graph_28():
    return cg.parse_dot((OUTPUTS / "2.8.0" / "graph.txt").read_text())


def test_the_dot_graph_reads_every_reference():
    graph = graph_28()
    assert (OUTPUTS / "2.8.0" / "graph-roots.txt").read_text().split() == [TOP1, TOP2]
    assert {path: sorted(refs) for path, refs in graph.references.items()} == {
        TOP1: sorted([APP1, CURL1]),
        APP1: [SSL14],
        CURL1: [SSL14],
        SSL14: [],
        TOP2: sorted([CURL2, APP2]),
        CURL2: [SSL13],
        APP2: sorted([SSL13_BIN, SSL13]),
        SSL13_BIN: [SSL13],
        SSL13: [],
    }


def test_the_closure_breadth_first_references_in_sorted_order():
    graph = graph_28()
    # TOP2's references sorted: 5rqh…-curl before m1a3…-app; curl brings openssl, app its -bin output
    assert graph.closure(TOP2) == [TOP2, CURL2, APP2, SSL13, SSL13_BIN]
    assert graph.closure(TOP1) == [TOP1, APP1, CURL1, SSL14]
    assert graph.closure(S + "not-read") == []


def test_the_shortest_chain_and_the_first_in_sorted_order():
    graph = graph_28()
    assert graph.chain(TOP2, SSL13) == [TOP2, CURL2, SSL13]  # via curl (5rqh… sorts before m1a3…-app)
    assert graph.chain(TOP2, SSL13_BIN) == [TOP2, APP2, SSL13_BIN]
    assert graph.chain(TOP1, SSL14) == [TOP1, APP1, SSL14]  # via app (i7yb… sorts before zf3c…-curl)
    assert graph.chain(TOP2, TOP2) == [TOP2]
    assert graph.chain(TOP1, SSL13) is None  # not in system 1's closure
    assert graph.chains(TOP2, [SSL14, SSL13]) == {SSL13: [TOP2, CURL2, SSL13]}


def test_a_packages_paths_by_version_then_the_out_output_first():
    graph = graph_28()
    assert [(p.path, p.version, p.output) for p in graph.packages(TOP2, "openssl")] == [
        (SSL13, "3.0.13", "out"),
        (SSL13_BIN, "3.0.13", "bin"),
    ]
    assert graph.packages(TOP2, "openssl-3.0.13") == [] and graph.packages(TOP2, "ssl") == []
    both = cg.ClosureGraph()
    both.add(TOP1, [SSL14, SSL13])
    assert [p.version for p in both.packages(TOP1, "openssl")] == ["3.0.13", "3.0.14"]


def test_find_the_versions_meant_and_why_they_are_there():
    graph = graph_28()
    matches = cg.find(graph, TOP2, parse_spec("openssl<3.0.14"))
    assert [m.to_dict() for m in matches] == [
        {"path": SSL13, "name": "openssl", "version": "3.0.13", "output": "out", "chain": [TOP2, CURL2, SSL13]},
        {"path": SSL13_BIN, "name": "openssl", "version": "3.0.13", "output": "bin", "chain": [TOP2, APP2, SSL13_BIN]},
    ]
    assert cg.find(graph, TOP1, parse_spec("openssl<3.0.14")) == []
    assert [m.chain for m in cg.find(graph, TOP1, parse_spec("openssl"))] == [[TOP1, APP1, SSL14]]


def test_a_path_is_never_its_own_reference_nor_twice_one():
    graph = cg.ClosureGraph()
    graph.add(TOP1, [TOP1, APP1, APP1])
    graph.add(TOP1, [APP1, CURL1])
    assert graph.references == {TOP1: [APP1, CURL1]}


def test_the_graph_from_path_info_and_from_an_sbom():
    infos: Dict[str, Optional[Dict[str, Any]]] = {
        TOP1: {"references": [TOP1, APP1]},
        APP1: {"references": [SSL14]},
        SSL14: {"references": []},
        CURL1: None,
    }
    graph = cg.from_path_info(infos)
    assert graph.references == {TOP1: [APP1], APP1: [SSL14], SSL14: [], CURL1: []}
    bom = {
        "metadata": {"component": {"bom-ref": TOP2}},
        "components": [{"bom-ref": CURL2}, {"bom-ref": SSL13}, {"name": "no ref"}, "not a component"],
        "dependencies": [{"ref": TOP2, "dependsOn": [CURL2, 7]}, {"ref": CURL2, "dependsOn": [SSL13]}, {"ref": 3}],
    }
    assert cg.from_sbom(bom).references == {TOP2: [CURL2], CURL2: [SSL13], SSL13: []}
    assert cg.from_sbom({}).references == {}


def test_roots_distinct_in_their_order():
    assert cg.roots_of([None, TOP2, TOP1, TOP2, "", None]) == [TOP2, TOP1]


def edges_of(graph):
    return {(a, b) for a, refs in graph.references.items() for b in refs}


def named(graph, suffix):
    (path,) = [p for p in graph.references if p.endswith("-" + suffix)]
    return path


@pytest.mark.parametrize("version", RECORDED)
def test_the_dot_graph_reads_as_the_references(version):
    graph, old, new = recorded_graph(version)
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
    graph, old, new = recorded_graph(version)
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
