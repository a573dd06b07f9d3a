#!/bin/sh
# Usage: tests/matrix/offline.sh COMMAND...
# Runs COMMAND in a network namespace of its own with only a loopback (127.0.0.0/8 of its own): a
# Debian root's leg tests there, so its fleets never meet those of the machine's legs that run at
# the same time. Nothing of the tests needs more (Nix runs with `substituters =`). Needs iproute2
# (scripts/setup.sh installs it) and CAP_NET_ADMIN (tests/matrix/in-root.sh --net-admin).
set -eu
exec unshare --net -- /bin/sh -c 'ip link set lo up && exec "$0" "$@"' "$@"
