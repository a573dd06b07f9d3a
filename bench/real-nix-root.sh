#!/usr/bin/env bash
# Usage: bench/real-nix-root.sh
# Prints a `nix` that evaluates the real nixpkgs of ../shared/nixpkgs (Nix 2.18 or newer) for the
# real-evaluation pass of bench/run:
#   * the machine's own `nix` when it is 2.18 or newer;
#   * else tests/fixtures/real-flake/nix-2.18, which runs the Nix of a Debian 13 root with nix-bin.
#     That root is made once, reproducibly, from tests/matrix/debian-root.sh trixie (a copy of it,
#     plus `apt-get install nix-bin` inside, through tests/matrix/in-root.sh --writable) and cached in
#     ${NIXFLEET_ROOTS:-/var/cache/nixfleet-roots}/trixie-nix (rebuilt when this script or the
#     trixie root changes). The caller exports NIXFLEET_NIX_ROOT=<that root>: this script prints
#     "NIX_BINARY NIX_ROOT" (NIX_ROOT empty for the machine's own nix).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOTS=${NIXFLEET_ROOTS:-/var/cache/nixfleet-roots}
if own=$(command -v nix) && nix --version | awk '{split($NF, v, "."); exit !(v[1] > 2 || (v[1] == 2 && v[2] >= 18))}'; then
  echo "$own "
  exit 0
fi
base=$(bash "$ROOT/tests/matrix/debian-root.sh" trixie)
DIR="$ROOTS/trixie-nix"
want="$(cat "$base.stamp") $(sha256sum "$ROOT/bench/real-nix-root.sh" | cut -d' ' -f1)"
if ! [[ -f "$DIR.stamp" && "$(cat "$DIR.stamp")" == "$want" && -x "$DIR/usr/bin/nix" ]]; then
  echo "real-nix-root: a copy of $base with nix-bin (once; cached in $DIR)" >&2
  rm -rf "$DIR" "$DIR.stamp" "$DIR.new"
  cp -a "$base" "$DIR.new"
  bash "$ROOT/tests/matrix/in-root.sh" "$DIR.new" --writable -- /bin/sh -c \
    'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nix-bin >/dev/null &&
     apt-get clean' >&2
  mv "$DIR.new" "$DIR"
  echo "$want" > "$DIR.stamp"
fi
echo "$ROOT/tests/fixtures/real-flake/nix-2.18 $DIR"
