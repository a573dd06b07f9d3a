"""Start, stop and inspect the local test fleet (see nsfleet.py and tests/README.md).

fleet up --hosts N [--systemd] [--no-python NAME...] [--deploy-user NAME=nopasswd|password[,untrusted]]
         [--shared-pid NAME...] --state DIR             start N hosts, print their JSON
fleet down --state DIR                                 stop every process, remove mounts and state
fleet status --state DIR                               print the JSON of a running fleet
fleet exec NAME --state DIR -- CMD...                  run CMD inside a host (nsenter, no ssh)
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import nsfleet  # noqa: E402
from fleet_accounts import AccountError  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="fleet", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start hosts")
    p_up.add_argument("--hosts", type=int, default=3, help="number of hosts (node01...)")
    p_up.add_argument("--names", help="comma-separated host names instead of node01...")
    p_up.add_argument(
        "--no-python", nargs="*", default=[], metavar="NAME", help="hosts that must not be able to run any Python"
    )
    p_up.add_argument(
        "--nix-tmpfs",
        action="append",
        default=[],
        metavar="NAME=SIZE",
        help="give host NAME a tmpfs of SIZE (e.g. 40M) as /nix, to test a full store",
    )
    p_up.add_argument(
        "--deploy-user",
        action="append",
        default=[],
        metavar="NAME=SUDO[,untrusted]",
        help="host NAME gets a nix-daemon and a non-root ssh user 'deploy' with sudo "
        "(SUDO: nopasswd or password); untrusted: not in Nix's trusted-users",
    )
    p_up.add_argument(
        "--shared-pid",
        nargs="*",
        default=[],
        metavar="NAME",
        help="run the fleet in a PID namespace of its own (a machine) that these hosts share, as "
        "chroots do; the other hosts nest theirs in it, as containers do",
    )
    p_up.add_argument(
        "--systemd",
        action="store_true",
        help="boot systemd hosts (systemd-nspawn; sshd and nix-daemon as units, real reboots)",
    )
    p_up.add_argument("--first-address", default="127.0.0.11", help="address of the first host")
    p_up.add_argument("--port", type=int, default=2222, help="sshd port of every host")
    p_up.add_argument("--http-port", type=int, default=8080, help="port of the hosts' HTTP service")
    for p in (
        p_up,
        sub.add_parser("down", help="stop every host"),
        sub.add_parser("status", help="print the fleet's JSON"),
    ):
        p.add_argument("--state", required=True, type=Path, help="the fleet's state directory")
    p_exec = sub.add_parser("exec", help="run a command inside a host, without ssh")
    p_exec.add_argument("name")
    p_exec.add_argument("--state", required=True, type=Path)
    argv = list(sys.argv[1:] if argv is None else argv)
    command = []
    if "--" in argv:
        command, argv = argv[argv.index("--") + 1 :], argv[: argv.index("--")]
    args = parser.parse_args(argv)

    try:
        if args.command == "up":
            names = args.names.split(",") if args.names else None
            tmpfs = dict(spec.split("=", 1) for spec in args.nix_tmpfs)
            users = {name: nsfleet.DeployUser.parse(spec) for name, spec in (s.split("=", 1) for s in args.deploy_user)}
            hosts = nsfleet.up(
                args.state,
                args.hosts,
                args.no_python,
                args.first_address,
                args.port,
                args.http_port,
                names,
                nix_tmpfs=tmpfs,
                deploy_users=users,
                systemd=args.systemd,
                shared_pid=args.shared_pid,
            )
            print(json.dumps({"hosts": [h.public() for h in hosts]}, indent=2))
        elif args.command == "down":
            nsfleet.down(args.state)
        elif args.command == "status":
            print(json.dumps({"hosts": [h.public() for h in nsfleet.load(args.state)]}, indent=2))
        else:
            host = {h.name: h for h in nsfleet.load(args.state)}.get(args.name)
            if host is None:
                raise nsfleet.FleetError("no host %s in %s" % (args.name, args.state))
            os.execvp("nsenter", nsfleet.exec_argv(host, command or ["/bin/sh"]))
    except (nsfleet.FleetError, AccountError) as exc:
        print("fleet: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
