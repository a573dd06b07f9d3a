# Sourced by the scripts: the environment every test, demo and benchmark runs in.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$ROOT/.collections"
# Nothing reaches the internet: no substituters for local Nix runs (no global config is edited).
export NIX_CONFIG=$'substituters =\nexperimental-features = nix-command flakes\nsandbox = false'
