#!/bin/sh
# Records `nix-store --query --graph` of two small systems (a diamond: top -> curl -> openssl and
# top -> app -> openssl, an old openssl in the second, an output-suffixed path) into DIR (any Nix 2.8+):
#   sh tests/unit/nix_outputs/record-graph.sh tests/unit/nix_outputs/$(nix --version | cut -d' ' -f3)
# graph.txt is the graph of both; graph-roots.txt their two store paths, one a line.
set -eu
out=$1
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export NIX_CONFIG="experimental-features = nix-command flakes
substituters =
sandbox = false
build-users-group ="
cat > "$work/graph.nix" <<'NIX'
{ v }:
let
  mk = name: deps: derivation { inherit name; system = "x86_64-linux"; builder = "/bin/sh"; PATH = "/usr/bin:/bin";
    args = [ "-c" ("mkdir -p $out; echo " + builtins.concatStringsSep " " (map toString deps) + " > $out/deps") ]; };
  openssl = if v == 1 then mk "openssl-3.0.14" [ ] else mk "openssl-3.0.13" [ ];
  opensslBin = mk "openssl-3.0.13-bin" [ openssl ];
  curl = mk "curl-8.5.0" [ openssl ];
  app = mk "app-1.0" ([ openssl ] ++ (if v == 1 then [ ] else [ opensslBin ]));
in mk "nixos-system-web-01-${toString v}" [ curl app ]
NIX
a=$(nix-build --no-out-link "$work/graph.nix" --arg v 1 2>/dev/null)
b=$(nix-build --no-out-link "$work/graph.nix" --arg v 2 2>/dev/null)
nix-store --query --graph "$a" "$b" > "$out/graph.txt"
printf '%s\n%s\n' "$a" "$b" > "$out/graph-roots.txt"
