#!/usr/bin/env bash
# Usage: tests/matrix/debian-root.sh SUITE
# Prints the path of a minimal Debian root of SUITE (bookworm, trixie, sid, ...), made once with
# debootstrap --variant=minbase and cached in $NIXFLEET_ROOTS (default /var/cache/nixfleet-roots);
# rebuilt when this script changes. The root holds no Nix and no package of the project's: it is the
# "fresh Debian machine" that scripts/setup.sh starts from. The machine's own extra CA certificates
# (/usr/local/share/ca-certificates) are copied in, so HTTPS to the package registries works inside
# as it does outside.
set -euo pipefail
SUITE=${1:?usage: debian-root.sh SUITE}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOTS=${NIXFLEET_ROOTS:-/var/cache/nixfleet-roots}
MIRROR=${NIXFLEET_DEBIAN_MIRROR:-http://deb.debian.org/debian}
DIR="$ROOTS/$SUITE"
want="$SUITE $(sha256sum "$HERE/debian-root.sh" | cut -d' ' -f1)"
if [[ -f "$DIR.stamp" && "$(cat "$DIR.stamp")" == "$want" && -x "$DIR/bin/sh" ]]; then
  echo "$DIR"
  exit 0
fi

if ! command -v debootstrap >/dev/null || ! command -v systemd-nspawn >/dev/null; then
  echo "debian-root: installing debootstrap and systemd-container" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap systemd-container >&2
fi
mkdir -p "$ROOTS"
rm -rf "$DIR" "$DIR.stamp" "$DIR.new"
echo "debian-root: debootstrap --variant=minbase $SUITE (once; cached in $DIR)" >&2
debootstrap --variant=minbase "$SUITE" "$DIR.new" "$MIRROR" >&2
# The machine's mirror may serve a snapshot whose Release files have expired (seen with sid).
echo 'Acquire::Check-Valid-Until "false";' > "$DIR.new/etc/apt/apt.conf.d/99nixfleet-mirror-snapshot"
mkdir -p "$DIR.new/usr/local/share/ca-certificates"
cp /usr/local/share/ca-certificates/*.crt "$DIR.new/usr/local/share/ca-certificates/" 2>/dev/null || true
# ca-certificates makes the bundle pip and curl are pointed at; debootstrap cannot resolve every
# dependency on its own (apt-get -f install finishes its work).
bash "$HERE/in-root.sh" "$DIR.new" --writable -- /bin/sh -c \
  'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get -f install -y -qq >/dev/null &&
   DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null &&
   update-ca-certificates >/dev/null && apt-get clean' >&2
mv "$DIR.new" "$DIR"
echo "$want" > "$DIR.stamp"
echo "$DIR"
