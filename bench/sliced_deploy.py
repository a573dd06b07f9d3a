"""deploy.yml as an AWX sliced job: the inventory stored as AWX's inventory update stores it, cut into
``--slices`` slices as AWX cuts them, each run as its own ansible-runner job, all at once.

    python bench/sliced_deploy.py --inventory fleet.flake.yml --slices 4 --work DIR

Exits non-zero unless every slice succeeds; prints each slice's hosts and wall time. The benchmark
(scale_out.py run_slicing) measures it like any deploy command (wall, CPU of every process it
waited for, Nix processes, loopback bytes); ``--slices 1`` is the same harness unsliced.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from awx_slices import run_slices  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inventory", type=Path, required=True, help="the inventory source (a .flake.yml)")
    parser.add_argument("--slices", type=int, default=4)
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()
    # the inventory update: what AWX stores and hands back to every slice
    listed = subprocess.run(
        ["ansible-inventory", "-i", str(args.inventory), "--list", "--export"],
        stdout=subprocess.PIPE,
        universal_newlines=True,
        check=True,
    ).stdout
    project = args.work / "project"
    project.mkdir(parents=True, exist_ok=True)
    (project / "deploy.yml").write_text((ROOT / "tests" / "fixtures" / "awx-project" / "deploy.yml").read_text())
    jobs = run_slices(args.work, project, json.loads(listed), args.slices, ssh_key="", envvars=dict(os.environ))
    for job in jobs:
        print(
            "slice %d of %d: %-10s %5.1f s  %d hosts (%s …)"
            % (job.number, args.slices, job.status, job.seconds, len(job.hosts), ", ".join(job.hosts[:3]))
        )
    return 0 if all(job.status == "successful" for job in jobs) else 1


if __name__ == "__main__":
    sys.exit(main())
