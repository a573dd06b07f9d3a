#!/usr/bin/env bash
# Usage: scripts/install-lock.sh VENV [ENVIRONMENT]
# Installs into the venv VENV exactly the hash-locked requirements of ENVIRONMENT (pinned, or
# ansible-core-X.Y.Z) for the venv's Python: tests/requirements/locks/ENVIRONMENT-pyX.Y.txt, made by
# scripts/lock.sh. pip installs what the lock lists, every file checked against its hash, nothing
# else; the venv then records which lock it holds (tests/unit/tooling/test_dependency_locks.py checks it).
# Used by scripts/setup.sh and noxfile.py; needs no root.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${1:?usage: install-lock.sh VENV [ENVIRONMENT]}
environment=${2:-pinned}
python_version=$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
LOCK=tests/requirements/locks/$environment-py$python_version.txt
if [[ ! -f "$ROOT/$LOCK" ]]; then
  echo "install-lock: no lock $LOCK (environment $environment, Python $python_version): add" \
       "tests/requirements/$environment.in and its Python to scripts/lock.sh, then run bash scripts/lock.sh" >&2
  exit 1
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --require-hashes --no-deps --only-binary=:all: \
  -r "$ROOT/$LOCK"
"$VENV/bin/python" -m pip check -q --disable-pip-version-check >/dev/null
echo "$LOCK" > "$VENV/nixfleet-lock"
