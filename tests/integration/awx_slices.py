"""AWX job slicing on one machine: the stored inventory cut into slices the way AWX cuts it, and the
slices run as concurrent ansible-runner jobs, each in a private data dir of its own.

AWX (awx/main/models/inventory.py, ``get_script_data`` / ``get_sliced_hosts``) orders the
inventory's hosts by name and gives slice ``k`` of ``n`` the hosts ``[k-1::n]``; the job receives an
inventory script with only those hosts (every group keeps only its hosts in the slice, host
variables only for them). The tests and the benchmark (bench/sliced_deploy.py) use this module.
"""

import copy
import json
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence

import ansible_runner


def slice_hosts(hosts: Sequence[str], number: int, count: int) -> List[str]:
    """The hosts of slice ``number`` (1-based) of ``count``, as AWX picks them."""
    return sorted(hosts)[number - 1 :: count]


def sliced_inventory(stored: Dict, number: int, count: int) -> Dict:
    """The inventory script data of one slice, from ``ansible-inventory --list --export`` output
    (what an AWX inventory update stores)."""
    hostvars = stored.get("_meta", {}).get("hostvars", {})
    keep = set(slice_hosts(list(hostvars), number, count))
    data = copy.deepcopy(stored)
    data["_meta"]["hostvars"] = {h: v for h, v in hostvars.items() if h in keep}
    for name, group in data.items():
        if name != "_meta" and isinstance(group, dict) and "hosts" in group:
            group["hosts"] = [h for h in group["hosts"] if h in keep]
    return data


def task_results(events: List[Dict], task: str, kind: str = "runner_on_ok") -> Dict[str, Dict]:
    """``{host: result}`` of a job's events of ``kind`` for the task named ``task``."""
    return {
        e["event_data"]["host"]: e["event_data"]["res"]
        for e in events
        if e["event"] == kind and e["event_data"].get("task") == task
    }


@dataclass
class SliceJob:
    number: int
    hosts: List[str]
    status: str = ""
    seconds: float = 0.0
    events: List[Dict] = field(default_factory=list)

    def task_results(self, task: str, kind: str = "runner_on_ok") -> Dict[str, Dict]:
        return task_results(self.events, task, kind)

    def hosts_in_events(self) -> set:
        return {
            e["event_data"]["host"]
            for e in self.events
            if e["event"].startswith("runner_on_") and e["event_data"].get("host") not in (None, "localhost")
        }

    def report_rows(self) -> List[Dict]:
        stats = [e for e in self.events if e["event"] == "playbook_on_stats"][0]["event_data"]
        return stats.get("artifact_data", {}).get("nixos_deploy_report", [])


def _write_script(directory: Path, data: Dict) -> Path:
    """The stored inventory as AWX hands it to a job: an executable inventory script."""
    (directory / "inventory.json").write_text(json.dumps(data))
    script = directory / "awx_inventory.sh"
    script.write_text(
        "#!/bin/sh\n# a job slice's inventory, as AWX hands it to the job\nexec cat %s\n"
        % (directory / "inventory.json")
    )
    script.chmod(0o755)
    return script


def run_slices(
    base: Path, project: Path, stored: Dict, count: int, ssh_key: str, envvars: Dict[str, str], cmdline: str = ""
) -> List[SliceJob]:
    """Run ``deploy.yml`` as ``count`` slice jobs at the same time (one thread each driving its own
    ansible-runner job and ansible-playbook process); returns them when all have finished."""
    jobs: List[SliceJob] = []
    threads = []
    for number in range(1, count + 1):
        data = sliced_inventory(stored, number, count)
        job = SliceJob(number, sorted(data["_meta"]["hostvars"]))
        private = base / ("slice-%d" % number)
        if private.exists():
            shutil.rmtree(str(private))
        shutil.copytree(str(project), str(private / "project"), symlinks=True)
        (private / "env").mkdir()
        if ssh_key:  # AWX's machine credential (else the inventory's own key file)
            (private / "env" / "ssh_key").write_text(ssh_key)
        script = _write_script(private, data)
        jobs.append(job)
        threads.append(threading.Thread(target=_run_one, args=(job, private, script, envvars, cmdline)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return jobs


def _run_one(job: SliceJob, private: Path, script: Path, envvars: Dict[str, str], cmdline: str) -> None:
    started = time.monotonic()
    result = ansible_runner.run(
        private_data_dir=str(private),
        playbook="deploy.yml",
        inventory=str(script),
        cmdline=cmdline or None,
        envvars=dict(envvars),
        quiet=True,
    )
    job.seconds = time.monotonic() - started
    job.status = result.status
    job.events = list(result.events)


def job_env(nix_config: str) -> Dict[str, str]:
    """What an AWX job's environment carries for these runs (test_awx's jobs too)."""
    env = {
        "ANSIBLE_COLLECTIONS_PATH": os.environ["ANSIBLE_COLLECTIONS_PATH"],
        "NIX_CONFIG": nix_config,
        "PATH": os.environ["PATH"],
        "ANSIBLE_HOST_KEY_CHECKING": "True",
    }
    if os.environ.get("NIXFLEET_CACHE_DIR"):
        env["NIXFLEET_CACHE_DIR"] = os.environ["NIXFLEET_CACHE_DIR"]
    return env
