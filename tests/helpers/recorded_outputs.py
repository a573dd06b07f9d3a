"""What real Nix printed, recorded per version in tests/unit/nix_outputs/VERSION/ (each folder's
record-*.sh scripts say how), for the unit tests' parsers."""

from pathlib import Path
from typing import Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._supply_chain import closure_graph

RECORDED_OUTPUTS = Path(__file__).resolve().parents[1] / "unit" / "nix_outputs"


def recorded_graph(version: str) -> Tuple[closure_graph.ClosureGraph, str, str]:
    """The reference graph ``nix-store --query --graph`` printed under Nix ``version`` for two
    systems, and those systems (the old one, the new one)."""
    text = (RECORDED_OUTPUTS / version / "graph.txt").read_text()
    old, new = (RECORDED_OUTPUTS / version / "graph-roots.txt").read_text().split()
    return closure_graph.parse_dot(text), old, new
