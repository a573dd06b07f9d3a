#!/usr/bin/env bash
# The test command: set everything up, run the unit and integration tests on this machine's pinned
# versions, then the version matrix (tests/matrix/run: the oldest ansible-core here and systemd hosts
# from Debian unstable; a clean clone on the other Debian release, demo and suite; one on Debian
# unstable with the newest ansible-core, Python and Nix). The legs in Debian roots test in network
# namespaces of their own, so they run beside the host suite (their output follows at the end).
# Prints how long each part took at the end, passed or not.
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
# shellcheck disable=SC2317  # (run by the EXIT trap)
timings() {
  local status=$?
  if [[ -n ${in_root_pid:-} ]] && kill -0 "$in_root_pid" 2>/dev/null; then
    kill -- -"$in_root_pid" 2>/dev/null || true  # interrupted: the legs in roots stop too (their session)
  fi
  echo "== durations"
  awk '{ printf "   %-18s %5d s  %s\n", $1, $2, $3 }' "$NIXFLEET_TIMINGS"
  printf "   %-18s %5d s  (the legs in roots ran beside the others)\n" "wall clock" "$SECONDS"
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
in_root_pid=
if [[ -n $matrix ]]; then
  in_root_log=$(mktemp)
  setsid bash "$ROOT/tests/matrix/run" --in-root >"$in_root_log" 2>&1 &
  in_root_pid=$!
fi
status=0
timed host-suite python -m pytest tests/unit tests/integration "$@" || status=$?
if [[ -n $matrix ]]; then
  if [[ $status == 0 ]]; then bash "$ROOT/tests/matrix/run" --here || status=$?; fi
  in_root_status=0
  wait "$in_root_pid" || in_root_status=$?
  in_root_pid=
  echo "== the legs in Debian roots (they ran beside the others)"
  cat "$in_root_log"
  rm -f "$in_root_log"
  if [[ $status == 0 ]]; then status=$in_root_status; fi
fi
exit "$status"
