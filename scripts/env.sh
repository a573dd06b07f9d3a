# shellcheck shell=bash
# Sourced by the scripts: the environment every test, demo and benchmark runs in.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# NIXFLEET_ANSIBLE_CORE=X.Y.Z: the same tools with another ansible-core, in a venv of its own
# (scripts/setup.sh makes it; the version matrix, tests/matrix/run, uses it).
NIXFLEET_VENV="$ROOT/.venv${NIXFLEET_ANSIBLE_CORE:+-ansible-core-$NIXFLEET_ANSIBLE_CORE}"
export PATH="$NIXFLEET_VENV/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$ROOT/.collections"
# Nothing reaches the internet: no substituters for local Nix runs; builds run as root without
# a nixbld group (Debian's nix-bin creates none). No global config is edited.
export NIX_CONFIG=$'substituters =\nexperimental-features = nix-command flakes\nsandbox = false\nbuild-users-group ='
