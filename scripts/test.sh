#!/usr/bin/env bash
# The test command: set everything up, run the unit and integration tests on this machine's pinned
# versions, then the version matrix (tests/matrix/run: the oldest ansible-core here; a clean clone
# on the other Debian release, demo and whole suite; one on Debian unstable with the newest
# ansible-core, Python and Nix).
#   bash scripts/test.sh                  everything (what CI runs)
#   bash scripts/test.sh -k inventory -x  this machine's pinned versions only; arguments go to pytest
#   bash scripts/test.sh --no-matrix      the whole suite on this machine's pinned versions only
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
matrix=1
if (($#)); then matrix=; fi
if [[ ${1:-} == --no-matrix ]]; then shift; fi
bash "$ROOT/scripts/setup.sh"
# shellcheck source=env.sh
source "$ROOT/scripts/env.sh"
cd "$ROOT"
python -m pytest tests/unit tests/integration "$@"
if [[ -n $matrix ]]; then bash "$ROOT/tests/matrix/run"; fi
