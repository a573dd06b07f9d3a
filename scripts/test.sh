#!/usr/bin/env bash
# The test command: set everything up, then run the unit and integration tests.
# Extra arguments go to pytest (e.g. -k inventory, -x).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/scripts/setup.sh"
# shellcheck source=env.sh
source "$ROOT/scripts/env.sh"
cd "$ROOT"
python -m pytest tests/unit tests/integration "$@"
