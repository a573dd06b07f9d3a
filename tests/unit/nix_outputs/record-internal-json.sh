#!/bin/sh
# Records Nix's --log-format internal-json log (stderr) of a build of two tiny derivations (one
# depends on the other; each prints lines and sleeps a moment), of a --keep-going build where one of
# them fails, and of a `nix copy` of the built closure to a file:// binary cache, in a chroot store
# under a temporary directory, into DIR (any Nix 2.8+; no network):
#   sh tests/unit/nix_outputs/record-internal-json.sh tests/unit/nix_outputs/$(nix --version | cut -d' ' -f3)
# In a Debian root of tests/matrix (bind DIR's parent and the work directory), e.g.
#   bash tests/matrix/in-root.sh ROOT --bind /tmp/x:/tmp/x -- sh /tmp/x/record-internal-json.sh /tmp/x/out
set -eu
out=$1
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/nixlog.XXXXXX")
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
export NIX_CONFIG="substituters =
sandbox = false
build-users-group =
experimental-features = nix-command flakes"
shell=$(command -v sh)
cat > "$work/drvs.nix" <<NIX
{ salt }:
let
  mk = name: script: deps: derivation {
    inherit name salt;
    PATH = "/usr/bin:/bin";
    system = builtins.currentSystem;
    builder = "$shell";
    args = [ "-c" script ];
    deps = deps;
  };
  dep = mk "progress-dep" "echo preparing dep; sleep 1; echo dep done; echo \$salt > \$out" [];
  top = mk "progress-top" "echo building top; sleep 1; echo top done; cat \$deps/ > /dev/null 2>&1; echo \$deps > \$out" [ dep ];
  bad = mk "progress-bad" "echo about to fail; echo line two; exit 3" [];
in { inherit dep top bad; }
NIX
# The machine's own store (a chroot store cannot run the builder outside it).
nix build --impure --no-link --log-format internal-json -f "$work/drvs.nix" --argstr salt "$$-ok" top \
  2> "$out/internal-json-build.stderr"
nix build --impure --no-link --keep-going --log-format internal-json -f "$work/drvs.nix" --argstr salt "$$-bad" top bad \
  2> "$out/internal-json-build-failed.stderr" || true
top=$(nix eval --impure --raw -f "$work/drvs.nix" --argstr salt "$$-ok" top.outPath)
nix copy --no-check-sigs --log-format internal-json --to "file://$work/cache" "$top" \
  2> "$out/internal-json-copy.stderr"
sed -i "s|$work|/tmp/WORK|g" "$out"/internal-json-*.stderr
