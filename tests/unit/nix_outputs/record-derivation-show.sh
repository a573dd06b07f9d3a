#!/bin/sh
# Records `nix derivation show --recursive` (`nix show-derivation -r` before Nix 2.15) of a small
# build graph: top-1 → libfoo-1.0 → the fixed-output source libfoo-1.0.tar.gz, whose environment
# has two `urls` as nixpkgs' fetchurl writes them; into DIR (any Nix 2.8+, no network: the
# "fetch" is a local builder with the fixed hash):
#   sh tests/unit/nix_outputs/record-derivation-show.sh tests/unit/nix_outputs/$(nix --version | cut -d' ' -f3)
set -eu
out=$1
mkdir -p "$out"
export NIX_CONFIG="experimental-features = nix-command flakes
substituters =
sandbox = false
build-users-group ="
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/pkg.nix" <<'NIX'
let
  src = derivation { name = "libfoo-1.0.tar.gz"; system = "x86_64-linux"; builder = "/bin/sh";
    args = [ "-c" "echo libfoo-source > $out" ]; PATH = "/usr/bin:/bin";
    urls = [ "https://example.org/libfoo-1.0.tar.gz" "https://mirror.example.org/libfoo-1.0.tar.gz" ];
    outputHashMode = "flat"; outputHashAlgo = "sha256";
    outputHash = builtins.hashString "sha256" "libfoo-source\n"; };
  pkg = derivation { name = "libfoo-1.0"; system = "x86_64-linux"; builder = "/bin/sh"; PATH = "/usr/bin:/bin";
    inherit src; args = [ "-c" "mkdir $out; cp $src $out/src" ]; };
in derivation { name = "top-1"; system = "x86_64-linux"; builder = "/bin/sh"; PATH = "/usr/bin:/bin";
  args = [ "-c" ("mkdir -p $out; echo ${pkg} > $out/deps") ]; }
NIX
drv=$(nix-instantiate "$work/pkg.nix" 2>/dev/null)
if nix --extra-experimental-features nix-command derivation show --help >/dev/null 2>&1; then nix derivation show -r "$drv" > "$out/derivation-show.json"; else nix show-derivation -r "$drv" > "$out/derivation-show.json"; fi
echo "$drv" > "$out/derivation-show.drv"
