#!/usr/bin/env bash
# Usage: tests/fleet/systemd-base.sh
# Prints the path of the shared, read-only base root of the fleet's systemd hosts (see systemd_fleet.py):
# Debian trixie (systemd 257, Nix 2.26 with its nix-daemon units) made once from the matrix's
# minimal trixie root and cached in $NIXFLEET_ROOTS (default /var/cache/nixfleet-roots); rebuilt
# when this script (its package list) or debian-root.sh changes. Nothing in it is per host: no host keys, no machine id, no sshd
# listener (each host's writable layer brings its own), nginx installed but not enabled.
# NIXFLEET_SYSTEMD_SUITE=sid: the same from Debian unstable (the newest systemd, Nix 2.34).
set -euo pipefail
SUITE=${NIXFLEET_SYSTEMD_SUITE:-trixie}
PACKAGES="systemd systemd-sysv dbus openssh-server sudo nix-bin nix-setup-systemd busybox procps iproute2 python3 nginx"
ROOTS=${NIXFLEET_ROOTS:-/var/cache/nixfleet-roots}
MATRIX="$(dirname "${BASH_SOURCE[0]}")/../matrix"
DIR="$ROOTS/systemd-$SUITE"
# Made from the matrix's minimal root of the suite (debian-root.sh: debootstrap, cached), so both
# scripts' versions are in the stamp.
want="$(cat "${BASH_SOURCE[0]}" "$MATRIX/debian-root.sh" | sha256sum | cut -d' ' -f1)"
if [[ -f "$DIR.stamp" && "$(cat "$DIR.stamp")" == "$want" && -x "$DIR/lib/systemd/systemd" ]]; then
  echo "$DIR"
  exit 0
fi

minimal=$(bash "$MATRIX/debian-root.sh" "$SUITE")
rm -rf "$DIR" "$DIR.stamp" "$DIR.new"
echo "systemd-base: $minimal with $PACKAGES (once; cached in $DIR)" >&2
cp -a "$minimal" "$DIR.new"
root=$DIR.new
bash "$MATRIX/in-root.sh" "$root" --writable -- /bin/sh -c \
  "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null &&
   apt-get clean" >&2
# Per-host things go to each host's layer; services that would listen on every address, or run
# maintenance at random times, are off.
rm -f "$root"/etc/ssh/ssh_host_*
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
for unit in nginx.service apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
            fstrim.timer man-db.timer systemd-tmpfiles-clean.timer ssh.socket; do
  rm -f "$root"/etc/systemd/system/*.wants/"$unit"
done
mkdir -p "$root/etc/systemd/system/multi-user.target.wants" "$root/etc/systemd/system/sockets.target.wants"
ln -sfn /lib/systemd/system/ssh.service "$root/etc/systemd/system/multi-user.target.wants/ssh.service"
ln -sfn /lib/systemd/system/nix-daemon.service "$root/etc/systemd/system/multi-user.target.wants/nix-daemon.service"
# No getty on the container's console: the fleet gives it none.
ln -sfn /dev/null "$root/etc/systemd/system/console-getty.service"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
mv "$DIR.new" "$DIR"
echo "$want" > "$DIR.stamp"
echo "$DIR"
