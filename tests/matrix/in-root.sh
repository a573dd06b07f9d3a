#!/usr/bin/env bash
# Usage: tests/matrix/in-root.sh ROOT [--writable] [--net-admin] [--bind HOST_DIR:PATH]... [--bind-ro HOST_DIR:PATH]... -- COMMAND...
# Runs COMMAND as root inside the Debian root ROOT with real isolation (systemd-nspawn: its own
# mount, PID, IPC and UTS namespaces, the machine's network, so 127.0.0.0/8 is the machine's loopback).
# Not a chroot: in a chroot, `nsenter -t PID -m` (which the fleet uses) would enter the machine's
# real root and touch its files. Without --writable every write goes to a throw-away overlay, so the
# cached root stays as built. Every process started inside ends with the container.
set -euo pipefail
ROOT=${1:?usage: in-root.sh ROOT [--writable] [--bind HOST_DIR:PATH]... [--bind-ro HOST_DIR:PATH]... -- COMMAND...}
shift
args=(--quiet --register=no --keep-unit --as-pid2 --resolv-conf=copy-host --timezone=off -D "$ROOT")
volatile=(--volatile=overlay)
while (($#)); do
  case $1 in
    --writable) volatile=(); shift ;;
    --bind) args+=("--bind=$2"); shift 2 ;;
    --bind-ro) args+=("--bind-ro=$2"); shift 2 ;;
    --net-admin) args+=("--capability=CAP_NET_ADMIN"); shift ;;  # (a network namespace of its own inside)
    --) shift; break ;;
    *) echo "in-root: unknown option $1" >&2; exit 2 ;;
  esac
done
(($#)) || { echo "in-root: no command" >&2; exit 2; }
# What the project's scripts read from the environment; pip trusts the root's CA bundle (which
# debian-root.sh made with the machine's CA certificates).
for var in CI PIP_DEFAULT_TIMEOUT PIP_DISABLE_PIP_VERSION_CHECK NIXFLEET_ANSIBLE_CORE; do
  if [[ -n ${!var:-} ]]; then args+=("--setenv=$var=${!var}"); fi
done
args+=("--setenv=PIP_CERT=/etc/ssl/certs/ca-certificates.crt")
# nspawn keeps per-container state under /run/systemd/nspawn and refuses to clean it up on a disk
# file system: give it a tmpfs in a mount namespace of our own (gone with this command).
exec unshare --mount --propagation private /bin/sh -c \
  'mkdir -p /run/systemd/nspawn && mount -t tmpfs nspawn-state /run/systemd/nspawn && exec "$@"' sh \
  systemd-nspawn "${args[@]}" "${volatile[@]}" "$@"
