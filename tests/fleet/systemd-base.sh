#!/usr/bin/env bash
# Usage: tests/fleet/systemd-base.sh
# Prints the path of the shared, read-only base root of the fleet's systemd hosts (see systemd_fleet.py):
# Debian trixie (systemd 257, Nix 2.26 with its nix-daemon units) made once with debootstrap and
# cached in $NIXFLEET_ROOTS (default /var/cache/nixfleet-roots); rebuilt when this script (and so
# its package list) changes. Nothing in it is per host: no host keys, no machine id, no sshd
# listener (each host's writable layer brings its own), nginx installed but not enabled.
set -euo pipefail
SUITE=trixie
PACKAGES="systemd systemd-sysv dbus openssh-server sudo nix-bin nix-setup-systemd busybox procps iproute2 python3 nginx"
ROOTS=${NIXFLEET_ROOTS:-/var/cache/nixfleet-roots}
MIRROR=${NIXFLEET_DEBIAN_MIRROR:-http://deb.debian.org/debian}
DIR="$ROOTS/systemd-$SUITE"
want="$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)"
if [[ -f "$DIR.stamp" && "$(cat "$DIR.stamp")" == "$want" && -x "$DIR/lib/systemd/systemd" ]]; then
  echo "$DIR"
  exit 0
fi

command -v debootstrap >/dev/null && command -v systemd-nspawn >/dev/null || {
  echo "systemd-base: installing debootstrap and systemd-container" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap systemd-container >&2
}
mkdir -p "$ROOTS"
rm -rf "$DIR" "$DIR.stamp" "$DIR.new"
echo "systemd-base: debootstrap $SUITE, then $PACKAGES (once; cached in $DIR)" >&2
debootstrap --variant=minbase "$SUITE" "$DIR.new" "$MIRROR" >&2
root=$DIR.new
# debootstrap resolves no virtual packages (nix-bin needs one): apt-get installs the rest.
echo 'Acquire::Check-Valid-Until "false";' > "$root/etc/apt/apt.conf.d/99nixfleet-mirror-snapshot"
bash "$(dirname "${BASH_SOURCE[0]}")/../matrix/in-root.sh" "$root" --writable -- /bin/sh -c \
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
