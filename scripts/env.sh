# Sourced by the scripts: the environment every test, demo and benchmark runs in.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$ROOT/.collections"
# Nothing reaches the internet: no substituters for local Nix runs; builds run as root without
# a nixbld group (Debian's nix-bin creates none). No global config is edited.
export NIX_CONFIG=$'substituters =\nexperimental-features = nix-command flakes\nsandbox = false\nbuild-users-group ='
