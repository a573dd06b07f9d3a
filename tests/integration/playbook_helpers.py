"""Running the collection's playbooks against a fleet the way users do (ansible-playbook)."""

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from fleetctl import ROOT, Fleet, FixtureFlake

BIN = os.path.dirname(sys.executable)


def write_fleet_inventory(directory: Path, fleet: Fleet, flake: FixtureFlake) -> Path:
    """``fleet.flake.yml`` for ``flake``, plus the ssh settings of the fleet as group_vars.

    Hosts whose flake shape says nothing about where they live get host_vars, as a user would
    write them. Host-key checking stays on, against the fleet's known_hosts.
    """
    (directory / "group_vars").mkdir(parents=True, exist_ok=True)
    (directory / "host_vars").mkdir(exist_ok=True)
    first = fleet.hosts[0]
    (directory / "group_vars" / "all.yml").write_text(
        yaml.safe_dump(
            {
                "ansible_ssh_private_key_file": first.private_key,
                "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes" % first.known_hosts,
            }
        )
    )
    for host in fleet.hosts:
        if flake.data["hosts"].get(host.name, {}).get("shape") == "plain":
            where = {"ansible_host": host.address, "ansible_port": host.port, "ansible_user": host.user}
            if host.sudo:  # a deploy user: root through sudo
                where["ansible_become"] = True
            (directory / "host_vars" / ("%s.yml" % host.name)).write_text(yaml.safe_dump(where))
    inventory = directory / "fleet.flake.yml"
    inventory.write_text("plugin: nixfleet.nixos.flake\nflake: %s\n" % flake.path)
    return inventory


def write_static_group(directory: Path, fleet: Fleet, group: str, names: List[str]) -> Path:
    """``GROUP.yml`` beside the flake inventory: fleet hosts the flake does not describe (a cache, a
    build host), in a static group, with where they live."""
    path = directory / ("%s.yml" % group)
    path.write_text(
        yaml.safe_dump(
            {
                group: {
                    "hosts": {
                        n: {
                            "ansible_host": fleet[n].address,
                            "ansible_port": fleet[n].port,
                            "ansible_user": fleet[n].user,
                        }
                        for n in names
                    }
                }
            }
        )
    )
    return path


@dataclass
class PlaybookRun:
    rc: int
    data: Dict
    stderr: str

    def stats(self, host: str) -> Dict[str, int]:
        return self.data["stats"].get(host, {})

    def results(self, task: str) -> Dict[str, Dict]:
        """``{host: result}`` of the last task whose name contains ``task``."""
        found = {}
        for play in self.data.get("plays", []):
            for entry in play.get("tasks", []):
                if task in entry["task"]["name"]:
                    found = entry["hosts"]
        return found

    def all_results(self, task: str) -> List[Dict[str, Dict]]:
        return [
            entry["hosts"]
            for play in self.data.get("plays", [])
            for entry in play.get("tasks", [])
            if task in entry["task"]["name"]
        ]


def playbook_command(
    inventory: Path,
    playbook: str,
    args,
    extra_vars: Optional[Dict] = None,
    limit: Optional[str] = None,
    callback: str = "test_json",
):
    """(argv, env) of ansible-playbook on ``inventory`` (a playbook name means one of playbooks/),
    host-key checking on."""
    argv = [os.path.join(BIN, "ansible-playbook"), "-i", str(inventory)]
    if playbook.endswith(".yml") and not os.path.isabs(playbook):
        playbook = str(ROOT / "playbooks" / playbook)
    argv.append(playbook)
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    if limit:
        argv += ["-l", limit]
    env = dict(
        os.environ,
        ANSIBLE_STDOUT_CALLBACK=callback,
        ANSIBLE_CALLBACK_PLUGINS=str(Path(__file__).parent / "callback_plugins"),
        ANSIBLE_HOST_KEY_CHECKING="True",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
    )
    return argv + list(args), env


def _ansible_playbook(
    inventory: Path,
    playbook: str,
    args,
    extra_vars: Optional[Dict] = None,
    limit: Optional[str] = None,
    callback: str = "test_json",
    stderr=subprocess.PIPE,
    timeout: float = 600,
):
    argv, env = playbook_command(inventory, playbook, args, extra_vars, limit, callback)
    return subprocess.run(
        argv,
        stdout=subprocess.PIPE,
        stderr=stderr,
        universal_newlines=True,
        env=env,
        timeout=timeout,
        cwd=str(inventory.parent),
        check=False,
    )


def run_playbook(
    inventory: Path,
    playbook: str,
    *args: str,
    extra_vars: Optional[Dict] = None,
    limit: Optional[str] = None,
    timeout: float = 600,
) -> PlaybookRun:
    proc = _ansible_playbook(inventory, playbook, args, extra_vars, limit, timeout=timeout)
    try:
        data = json.loads(proc.stdout[proc.stdout.index("{") :])
    except ValueError:
        raise AssertionError(
            "ansible-playbook printed no JSON (rc %d): %s\n%s" % (proc.returncode, proc.stdout, proc.stderr)
        )
    return PlaybookRun(proc.returncode, data, proc.stderr)


def run_task(
    inventory: Path, hosts: str, module: str, args: Optional[Dict] = None, *cli_args: str, **task_keys
) -> PlaybookRun:
    """Run one task of ``module`` on ``hosts`` (a throw-away playbook next to the inventory)."""
    task = dict({"name": "task under test", module: args or {}}, **task_keys)
    play = [{"name": "one task", "hosts": hosts, "gather_facts": False, "tasks": [task]}]
    playbook = inventory.parent / "one-task.yml"
    playbook.write_text(yaml.safe_dump(play))
    return run_playbook(inventory, str(playbook), *cli_args)


def run_playbook_text(
    inventory: Path, playbook: str, *args: str, extra_vars: Optional[Dict] = None, timeout: float = 600
):
    """ansible-playbook with the default callback, as a person reads it: (rc, stdout + stderr)."""
    proc = _ansible_playbook(
        inventory, playbook, args, extra_vars, callback="default", stderr=subprocess.STDOUT, timeout=timeout
    )
    return proc.returncode, proc.stdout


def run_playbook_on_a_terminal(
    inventory: Path, playbook: str, *args: str, answers: Optional[Dict[str, str]] = None, timeout: float = 600
):
    """ansible-playbook (default callback) on a pseudo-terminal, as a person runs it: each prompt in
    ``answers`` (e.g. ``"BECOME password:"``) is answered once. Returns (rc, everything the terminal showed)."""
    argv, env = playbook_command(inventory, playbook, args, callback="default")
    pending = dict(answers or {})
    pid, fd = pty.fork()
    if pid == 0:  # the child: ansible-playbook with the terminal as its controlling tty
        try:
            os.chdir(str(inventory.parent))
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    shown, deadline = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _w, _x = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            for prompt in [p for p in pending if p.encode() in shown]:
                os.write(fd, (pending.pop(prompt) + "\n").encode())
        else:
            os.kill(pid, signal.SIGKILL)
    finally:
        os.close(fd)
        status = os.waitpid(pid, 0)[1]
    return os.waitstatus_to_exitcode(status), shown.decode("utf-8", "replace")


def failures(run: PlaybookRun) -> List:
    """(task, host, msg) of every failed or unreachable task result of a run, for assertion messages."""
    return [
        (entry["task"]["name"], host, result.get("msg"))
        for play in run.data.get("plays", [])
        for entry in play["tasks"]
        for host, result in entry["hosts"].items()
        if result.get("failed") or result.get("unreachable")
    ]


def leaked_lines(text: str, words: List[str]) -> List[str]:
    """The output lines that contain any of ``words`` (test-only secrets), to say where a leak is."""
    return [line[:160] for line in text.splitlines() if any(w.lower() in line.lower() for w in words)]
