"""The fleet benchmark's records (results.json): one per measured sample, with its fleet size,
repetition, method and scenario."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List


class Recorder:
    """Collects samples and keeps results.json current, so an interrupted run still leaves data."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.records: List[Dict] = []

    def add(self, size: int, rep: int, method: str, scenario: str, sample, **extra) -> None:
        record = dict(size=size, rep=rep, method=method, scenario=scenario, **sample.to_dict())
        record.update(extra)
        self.records.append(record)
        print(
            "  %-10s %-16s %3d hosts  %7.2f s  nix=%-4d lo=%d B%s"
            % (
                method,
                scenario,
                size,
                sample.seconds,
                sample.nix_processes,
                sample.loopback_bytes,
                "  peak PSS %d MiB" % (sample.peak_pss_kib // 1024) if sample.peak_pss_kib else "",
            ),
            flush=True,
        )
        (self.out / "results.json").write_text(json.dumps(self.records, indent=1))
