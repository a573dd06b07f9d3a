"""Never touch what is not the host's own: hosts on one machine (issue 38), where a host's /proc shows
its neighbours' processes. node01 is a daemon host (a nix-daemon owns its store; ssh logs in as the
non-root ``deploy`` user) with a PID namespace of its own, as a container has; node02 and node03 are
single-user Nix hosts that share the fleet machine's PID namespace, as chroots do, so their /proc
shows node01's daemon and each other's processes (tests/fleet/fleet_machine.py).

* ``nix_conf`` (role substituters) on the single-user hosts restarts no daemon: node01's keeps its
  PID and answers its ``deploy`` user, and none is started on node02 or node03; on node01 it
  restarts node01's own.
* The copy lock's reaper on node02 leaves alone a live copy into node03 whose remote end has no sshd
  above it (a store session opened the way a container runtime's ``exec`` opens one).
"""

import os
import struct
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

import nsfleet
from fleetctl import FixtureFlake, inside, nix_env, ssh
from fleet_fixtures import own_fleet
from playbook_helpers import failures, run_playbook, run_task, write_fleet_inventory

pytestmark = pytest.mark.integration

SOCKET = "/nix/var/nix/daemon-socket/socket"
# The legacy store protocol (nix-store --serve), which ssh:// copies speak.
SERVE_MAGIC_1, SERVE_MAGIC_2, SERVE_VERSION = 0x390C9DEB, 0x5452EECB, 0x205
CMD_QUERY_VALID_PATHS = 1


fleet = own_fleet(
    "own-daemon",
    3,
    first_address="127.0.80.11",
    deploy_users={"node01": nsfleet.DeployUser("nopasswd")},
    shared_pid=["node02", "node03"],
)


@pytest.fixture(scope="module")
def inventory(fleet, tmp_path_factory):
    flake = FixtureFlake.create(tmp_path_factory.mktemp("own-daemon-flake") / "flake", fleet, {})
    return write_fleet_inventory(tmp_path_factory.mktemp("own-daemon-inventory"), fleet, flake)


def host_daemon(host):
    """PID (in the host's own PID namespace) of its nix-daemon: the one init started, PID 1's child."""
    return [
        int(p)
        for p in inside(
            host,
            'for d in /proc/[0-9]*; do [ "$(cat $d/comm 2>/dev/null)" = nix-daemon ] '
            "&& [ \"$(cut -d' ' -f4 $d/stat)\" = 1 ] && echo ${d#/proc/}; done; true",
        ).split()
    ]


def _stat(pid):
    """(comm, state, parent pid) of ``pid`` from /proc (None when it is gone)."""
    try:
        text = Path("/proc/%s/stat" % pid).read_text()
    except OSError:
        return None
    comm = text[text.index("(") + 1 : text.rindex(")")]
    state, ppid = text[text.rindex(")") + 2 :].split()[:2]
    return comm, state, int(ppid)


def fleet_daemons(fleet):
    """Every running nix-daemon of the fleet's machine and of the namespaces nested in it (our PIDs):
    the daemons themselves, not the worker a daemon forks for each client (which exits after its
    client, a moment later), nor one that exited and awaits its parent (a zombie)."""
    namespaces = {h.pid_namespace for h in fleet.hosts}
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and nsfleet._pid_namespace(int(entry)) in namespaces:
            stat = _stat(entry)
            if stat is None or stat[0] != "nix-daemon" or stat[1] == "Z":
                continue
            parent = _stat(stat[2])
            if parent is None or parent[0] != "nix-daemon":
                found.append(int(entry))
    return sorted(found)


def answers_deploy(host):
    """The daemon answers the host's non-root user (who reaches the store only through it)."""
    done = ssh(
        host,
        "id -un; nix --extra-experimental-features nix-command store ping --store daemon 2>&1 || "
        "nix --extra-experimental-features nix-command store info --store daemon 2>&1",
        check=False,
    )
    return done.stdout.splitlines()[0] == "deploy" and done.returncode == 0


def test_nix_conf_on_single_user_hosts_leaves_the_daemon_host_s_daemon_alone(fleet, inventory):
    daemon_host = fleet["node01"]
    [before] = host_daemon(daemon_host)
    daemons = fleet_daemons(fleet)
    assert len(daemons) == 1 and answers_deploy(daemon_host)
    # node02's /proc shows node01's daemon, as a chroot's shows the machine's.
    assert "nix-daemon" in inside(fleet["node02"], "cat /proc/[0-9]*/comm 2>/dev/null; true").split()
    playbook = inventory.parent / "substituters.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "substituters on the single-user hosts",
                    "hosts": "node02,node03",
                    "gather_facts": False,
                    "roles": [
                        {
                            "role": "nixfleet.nixos.substituters",
                            "vars": {"substituters_settings": {"connect-timeout": "7"}},
                        }
                    ],
                }
            ]
        )
    )
    run = run_playbook(inventory, str(playbook))
    assert run.rc == 0, failures(run)
    for name in ("node02", "node03"):
        result = run.results("Configure nix.conf")[name]
        assert result["changed"] and result["daemon_restarted"] is False, result
        assert "connect-timeout = 7" in inside(fleet[name], "cat /etc/nix/nix.conf")
        # no daemon of its own either: a single-user host stays one
        assert inside(fleet[name], "[ -e %s ] && echo yes || echo no" % SOCKET).strip() == "no"
    assert host_daemon(daemon_host) == [before] and fleet_daemons(fleet) == daemons
    assert answers_deploy(daemon_host)
    # On the daemon host itself, its own daemon is restarted (through sudo) and answers again.
    own = run_task(inventory, "node01", "nixfleet.nixos.nix_conf", {"settings": {"connect-timeout": "8"}})
    assert own.rc == 0, failures(own)
    result = own.results("task under test")["node01"]
    [after] = host_daemon(daemon_host)
    assert result["daemon_restarted"] is True and after != before and answers_deploy(daemon_host)
    assert len(fleet_daemons(fleet)) == 1 and fleet_daemons(fleet) != daemons


def serve_session(host):
    """A live ``nix-store --serve --write`` into ``host``'s store with no sshd above it (started through
    nsenter, as ``docker exec`` or ``machinectl shell`` would start a copy's remote end), after its
    handshake."""
    session = subprocess.Popen(
        nsfleet.exec_argv(host, ["nix-store", "--serve", "--write"]),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert session.stdin is not None and session.stdout is not None
    session.stdin.write(struct.pack("<QQ", SERVE_MAGIC_1, SERVE_VERSION))
    session.stdin.flush()
    magic, _version = struct.unpack("<QQ", session.stdout.read(16))
    assert magic == SERVE_MAGIC_2
    return session


def valid_paths(session, paths):
    """The session's answer to "which of these paths are valid?" (cmdQueryValidPaths)."""

    def string(text):
        data = text.encode()
        return struct.pack("<Q", len(data)) + data + b"\0" * (-len(data) % 8)

    session.stdin.write(struct.pack("<QQQQ", CMD_QUERY_VALID_PATHS, 0, 0, len(paths)) + b"".join(map(string, paths)))
    session.stdin.flush()
    count = struct.unpack("<Q", session.stdout.read(8))[0]
    found = []
    for _attempt in range(count):
        size = struct.unpack("<Q", session.stdout.read(8))[0]
        found.append(session.stdout.read(size + (-size % 8))[:size].decode())
    return found


def test_the_reaper_leaves_a_live_copy_to_another_host_alone(fleet, inventory, tmp_path):
    other = fleet["node03"]
    held = inside(other, "f=$(mktemp); echo held-%s > $f; nix-store --add $f" % uuid.uuid4().hex).strip()
    session = serve_session(other)
    try:
        # node02's /proc shows the session, a root nix-store --serve without an sshd above it: what
        # the copy lock's reaper ends on its own host.
        shown = inside(fleet["node02"], "for d in /proc/[0-9]*; do tr '\\0' ' ' < $d/cmdline 2>/dev/null; echo; done")
        assert "nix-store --serve --write " in shown.splitlines()
        # A push to node02 over ssh:// (its remote end nix-store --serve behind the copy lock's wrapper).
        expr = tmp_path / "one.nix"
        expr.write_text(
            'derivation { name = "own-daemon-test"; system = builtins.currentSystem; builder = "/bin/sh"; '
            'args = [ "-c" "echo %s > $out" ]; }' % uuid.uuid4().hex
        )
        path = subprocess.run(
            ["nix-build", "--no-out-link", str(expr)],
            stdout=subprocess.PIPE,
            universal_newlines=True,
            env=nix_env(),
            check=True,
        ).stdout.strip()
        copied = run_task(inventory, "node02", "nixfleet.nixos.copy_closure", {"path": path, "scheme": "ssh"})
        assert copied.rc == 0, failures(copied)
        assert copied.results("task under test")["node02"]["copied"] is True
        assert inside(fleet["node02"], "nix-store --check-validity %s && echo valid" % path).strip() == "valid"
        # The other host's copy is alive and still answers.
        assert session.poll() is None
        assert valid_paths(session, [held]) == [held]
    finally:
        session.kill()
        session.wait()
