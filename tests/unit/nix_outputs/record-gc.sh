#!/bin/sh
# Records what `nix-store --gc` prints (stderr and stdout together, as the prune script reads it)
# when it deletes one path of 3,000,000 bytes and when it finds nothing to delete, in a chroot store
# under a temporary directory, into DIR (any Nix 2.8+):
#   sh tests/unit/nix_outputs/record-gc.sh tests/unit/nix_outputs/$(nix --version | cut -d' ' -f3)
set -eu
out=$1
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export NIX_CONFIG="substituters =
sandbox = false
build-users-group ="
head -c 3000000 /dev/zero > "$work/junk"
nix-store --store "$work/store" --add "$work/junk" > /dev/null
nix-store --store "$work/store" --gc > "$out/gc-one.txt" 2>&1
nix-store --store "$work/store" --gc > "$out/gc-none.txt" 2>&1
