#!/usr/bin/env bash
# The test command: set everything up, run the unit and integration tests; with NIXFLEET_MATRIX set,
# then the legs of the version matrix it names (tests/matrix/run: ansible-oldest, debian12, debian13,
# unstable; "all": every leg for this machine). CI does not run the matrix yet (not every leg is green).
#   bash scripts/test.sh                  the suite on this machine's pinned versions (what CI runs)
#   NIXFLEET_MATRIX=all bash scripts/test.sh    the suite, then the whole version matrix
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
legs=${NIXFLEET_MATRIX-}
if [[ $legs == all ]]; then legs=; fi
if [[ -n $matrix && -n ${NIXFLEET_MATRIX+set} ]]; then
  # shellcheck disable=SC2086
  bash "$ROOT/tests/matrix/run" $legs
fi
