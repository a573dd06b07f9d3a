"""Exposure of a package in a host's systems (module_utils._supply_chain.exposure): the scan's parsing
on Nix's real ``nix-store --query --graph`` output (tests/unit/nix_outputs/*/graph.txt, recorded by
record-graph.sh), with its report; the scan command run by a real shell against a fake ``nix-store``
that records its arguments. (The graph and its chains: test_closure_graph.py.)"""

import os
import stat
import subprocess

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain import exposure as ex
from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain import exposure_report as er
from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain.package_spec import parse_spec
from recorded_outputs import RECORDED_OUTPUTS as OUTPUTS, recorded_graph


RECORDED = sorted(p.parent.name for p in OUTPUTS.glob("*/graph.txt"))


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
    _graph, old, new = recorded_graph(version)
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
