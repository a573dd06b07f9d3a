#!/bin/sh
# One systemd host of the fleet (see systemd_fleet.py), run in a mount namespace of its own
# (unshare --mount --propagation private): mounts the host's root, an overlay of the shared base
# root (BASE, read-only) and its own writable layer (LAYER/upper), then boots it with
# systemd-nspawn, systemd as PID 1, on the machine's network (its sshd listens on its own loopback
# address). `systemctl reboot` inside makes systemd-nspawn exit with 133: the host is booted
# again, a real reboot (every process gone, a fresh /run, a new boot id). Any other exit ends it.
# Every mount is in this namespace and goes with it. Environment: HOST_NAME, BASE, LAYER, and
# NIX_TMPFS_SIZE: when set, /nix is a tmpfs of that size (a small disk, for the full-store fault),
# which lives as long as the host (across its reboots).
set -eu

mkdir -p "$LAYER/upper" "$LAYER/work" "$LAYER/merged"
mount -t overlay "nixfleet-$HOST_NAME" -o "lowerdir=$BASE,upperdir=$LAYER/upper,workdir=$LAYER/work" "$LAYER/merged"
if [ -n "${NIX_TMPFS_SIZE:-}" ]; then
  mkdir -p "$LAYER/nix-tmpfs"
  mount -t tmpfs -o "size=$NIX_TMPFS_SIZE,mode=0755" "nixfleet-nix-$HOST_NAME" "$LAYER/nix-tmpfs"
  cp -a "$LAYER/merged/nix/." "$LAYER/nix-tmpfs/"
  mount --move "$LAYER/nix-tmpfs" "$LAYER/merged/nix"
fi
# nspawn keeps per-container state under /run/systemd/nspawn and will not clean it up on a disk.
mkdir -p /run/systemd/nspawn
mount -t tmpfs nspawn-state /run/systemd/nspawn

boot=0
while :; do
  boot=$((boot + 1))
  echo "nixfleet: boot $boot of $HOST_NAME"
  rc=0
  systemd-nspawn --quiet --boot --register=no --keep-unit --directory="$LAYER/merged" \
    --machine="$HOST_NAME" --hostname="$HOST_NAME" --resolv-conf=off --timezone=off --link-journal=no \
    --console=passive </dev/null || rc=$?
  echo "nixfleet: $HOST_NAME stopped (systemd-nspawn exit $rc)"
  [ "$rc" -eq 133 ] || exit "$rc"
done
