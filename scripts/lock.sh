#!/usr/bin/env bash
# Regenerates every hash-locked requirements file in tests/requirements/locks/ (needs PyPI):
#   bash scripts/lock.sh              re-resolve, keeping each locked version that still fits
#   bash scripts/lock.sh --upgrade    the newest versions the .in files allow
# One lock per environment (a tests/requirements/*.in file) and controller Python: scripts/setup.sh
# installs the one for /usr/bin/python3 with pip --require-hashes, so every machine gets byte for
# byte what CI ran. tests/unit/tooling/test_dependency_locks.py fails when a lock and its .in disagree.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REQ="$ROOT/tests/requirements"
# environment (tests/requirements/NAME.in) -> the Pythons it runs on: Debian 12 has 3.11, Debian 13
# 3.13, Debian unstable 3.14 (tests/matrix/run says which leg uses which).
ENVIRONMENTS=(
  "pinned 3.11 3.13 3.14"
  "ansible-core-2.17.14 3.11 3.13"
  "ansible-core-2.21.5 3.13 3.14"
  "lock-tool 3.11 3.13 3.14"
)
extra=()
if [[ ${1:-} == --upgrade ]]; then extra=(--upgrade); shift; fi
(($# == 0)) || { echo "usage: bash scripts/lock.sh [--upgrade]" >&2; exit 2; }

TOOL="$ROOT/.venv-lock"
tool_lock="$REQ/locks/lock-tool-py$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])').txt"
want=$(sha256sum "$tool_lock" | cut -d' ' -f1)
if [[ ! -x "$TOOL/bin/uv" || "$(cat "$TOOL/.lock.sha256" 2>/dev/null)" != "$want" ]]; then
  /usr/bin/python3 -m venv --clear "$TOOL"
  "$TOOL/bin/pip" install -q --disable-pip-version-check --require-hashes --no-deps --only-binary=:all: -r "$tool_lock"
  echo "$want" > "$TOOL/.lock.sha256"
fi

cd "$REQ"
for entry in "${ENVIRONMENTS[@]}"; do
  read -r name pythons <<<"$entry"
  for python in $pythons; do
    echo "lock: $name.in for Python $python -> locks/$name-py$python.txt"
    "$TOOL/bin/uv" pip compile --quiet --generate-hashes "${extra[@]}" \
      --python-version "$python" --python-platform x86_64-unknown-linux-gnu \
      --custom-compile-command "bash scripts/lock.sh" -o "locks/$name-py$python.txt" "$name.in"
  done
done
