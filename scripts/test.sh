#!/usr/bin/env bash
# The test command: set everything up, run the unit and integration tests on this machine's pinned
# versions, then the version matrix (tests/matrix/run: the oldest ansible-core here; a clean clone
# on the other Debian release, demo and whole suite; one on Debian unstable with the newest
# ansible-core, Python and Nix). Prints how long each part took at the end, passed or not.
#   bash scripts/test.sh                  everything (what CI runs)
#   bash scripts/test.sh -k inventory -x  this machine's pinned versions only; arguments go to pytest
#   bash scripts/test.sh --no-matrix      the whole suite on this machine's pinned versions only
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
matrix=1
if (($#)); then matrix=; fi
if [[ ${1:-} == --no-matrix ]]; then shift; fi
# Each part appends "PART SECONDS OUTCOME" here (tests/matrix/run too); printed at exit.
NIXFLEET_TIMINGS=$(mktemp)
export NIXFLEET_TIMINGS
timings() {
  local status=$?
  echo "== durations"
  awk '{ printf "   %-18s %5d s  %s\n", $1, $2, $3; total += $2 } END { printf "   %-18s %5d s\n", "total", total }' \
    "$NIXFLEET_TIMINGS"
  rm -f "$NIXFLEET_TIMINGS"
  return "$status"
}
trap timings EXIT
# Runs "$@" as the part named $1 and records its duration and outcome.
timed() {
  local part=$1 start=$SECONDS status=0
  shift
  "$@" || status=$?
  echo "$part $((SECONDS - start)) $([[ $status == 0 ]] && echo passed || echo "failed($status)")" >> "$NIXFLEET_TIMINGS"
  return "$status"
}
timed setup bash "$ROOT/scripts/setup.sh"
# shellcheck source=env.sh
source "$ROOT/scripts/env.sh"
cd "$ROOT"
timed host-suite python -m pytest tests/unit tests/integration "$@"
if [[ -n $matrix ]]; then bash "$ROOT/tests/matrix/run"; fi
