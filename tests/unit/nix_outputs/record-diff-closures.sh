#!/bin/sh
# Records `nix store diff-closures` of two small closures (a package upgraded and grown, one added,
# one removed, one unchanged, one whose size changed by less than 8 KiB, one that only shrank) into
# DIR (any Nix 2.8+):
#   sh tests/unit/nix_outputs/record-diff-closures.sh tests/unit/nix_outputs/$(nix --version | cut -d' ' -f3)
set -eu
out=$1
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export NIX_CONFIG="experimental-features = nix-command flakes
substituters =
sandbox = false
build-users-group ="
cat > "$work/closure.nix" <<'NIX'
{ v }:
let
  mk = name: size: derivation { inherit name size; system = "x86_64-linux"; builder = "/bin/sh";
    PATH = "/usr/bin:/bin"; args = [ "-c" "mkdir -p $out; head -c $size /dev/zero > $out/data" ]; };
  deps = if v == 1 then [ (mk "libfoo-1.0" 10000) (mk "shared-2.0" 5000) (mk "removed-0.5" 3000) (mk "noversion" 100) (mk "shrunk-4" 40000) ]
         else [ (mk "libfoo-1.1" 60000) (mk "shared-2.0" 5000) (mk "added-3.0" 20000) (mk "noversion" 200) (mk "shrunk-4" 1000) ];
in derivation { name = "top-${toString v}"; system = "x86_64-linux"; builder = "/bin/sh"; PATH = "/usr/bin:/bin";
  args = [ "-c" ("mkdir -p $out; echo " + builtins.concatStringsSep " " (map toString deps) + " > $out/deps") ]; }
NIX
a=$(nix-build --no-out-link "$work/closure.nix" --arg v 1 2>/dev/null)
b=$(nix-build --no-out-link "$work/closure.nix" --arg v 2 2>/dev/null)
nix store diff-closures "$a" "$b" > "$out/diff-closures.txt"
