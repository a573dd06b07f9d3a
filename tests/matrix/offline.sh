#!/bin/sh
# Usage: tests/matrix/offline.sh COMMAND...
# Runs COMMAND in a network namespace of its own with only a loopback (127.0.0.0/8 of its own): a
# Debian root's leg tests there, so its fleets never meet those of the machine's legs that run at
# the same time. Nothing of the tests needs more (Nix runs with `substituters =`). Needs iproute2
# (scripts/setup.sh installs it) and CAP_NET_ADMIN (tests/matrix/in-root.sh --net-admin).
# Nix takes a machine whose only IPv4 address is 127.0.0.1 for one without Internet and changes
# its settings (connect-timeout 1, ...); a second loopback address keeps it as on any machine.
set -eu
# shellcheck disable=SC2016  # ($0 and $@ are the inner shell's)
exec unshare --net -- /bin/sh -c 'ip link set lo up && ip addr add 127.255.255.254/32 dev lo && exec "$0" "$@"' "$@"
