#!/usr/bin/env bash
# Install everything the tests and the demo need on a Debian 12 or 13 machine, as root. Idempotent:
# Debian packages (scripts/debian-packages.txt: Nix from nix-bin, OpenSSH, busybox, tini), a Python
# venv in .venv from a hash-locked requirements file, and the collection linked at .collections/ansible_collections/nixfleet/nixos.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

mapfile -t APT_PACKAGES < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' -e 's/[[:space:]]//g' "$ROOT/scripts/debian-packages.txt")

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  # Package scripts must not start services (nginx would listen on every address): a policy-rc.d
  # that forbids it, for the time of this install only, unless the machine already has one.
  policy=/usr/sbin/policy-rc.d
  own_policy=
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [[ -n $own_policy ]]; then rm -f "$policy"; fi
fi

# Mount points the fleet hosts bind their private directories onto.
mkdir -p /nix /etc/nix /etc/nixfleet /etc/profile.d /etc/ssh /etc/sudoers.d /var/lib /var/cache /root /home
# The controller's store exists before the first test looks for its processes (Debian's nix-bin makes
# it at first use).
if [[ ! -d /nix/store ]]; then nix-store --init; fi

# shellcheck source=env.sh
source "$ROOT/scripts/env.sh"
VENV=$NIXFLEET_VENV
# The hash-locked requirements (tests/requirements/locks, made by scripts/lock.sh) of this
# environment for this Python: the pinned one, or another ansible-core's (NIXFLEET_ANSIBLE_CORE).
# pip installs exactly what the lock lists, every file checked against its hash; nothing else.
PYTHON=/usr/bin/python3
python_version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
environment=pinned
if [[ -n ${NIXFLEET_ANSIBLE_CORE:-} ]]; then environment=ansible-core-$NIXFLEET_ANSIBLE_CORE; fi
LOCK=tests/requirements/locks/$environment-py$python_version.txt
STAMP="$VENV/.requirements.sha256"
want=$(sha256sum "$ROOT/$LOCK" 2>/dev/null | cut -d' ' -f1)  # (no lock: install-lock.sh says so)
if [[ ! -x "$VENV/bin/python" || "$(cat "$STAMP" 2>/dev/null)" != "$want" ]]; then
  echo "setup: creating the Python venv in $VENV from $LOCK"
  "$PYTHON" -m venv --clear "$VENV"
  bash "$ROOT/scripts/install-lock.sh" "$VENV" "$environment"
  echo "$want" > "$STAMP"
fi

# ansible-test bootstraps pip into its venvs with a script from ci-files.testing.ansible.com, which
# this machine cannot reach: give it an equivalent from its cache path (pip from Python's ensurepip).
BOOTSTRAP="$HOME/.ansible/test/cache/get_pip_24_2.py"
if [[ ! -f "$BOOTSTRAP" ]]; then
  mkdir -p "$(dirname "$BOOTSTRAP")"
  printf '%s\n' "# Offline stand-in for ansible-test's pip bootstrap (written by scripts/setup.sh)." \
    "import ensurepip" "ensurepip.bootstrap(upgrade=True, default_pip=True)" > "$BOOTSTRAP"
fi

link="$ROOT/.collections/ansible_collections/nixfleet/nixos"
if [[ ! -L "$link" ]]; then
  mkdir -p "$(dirname "$link")"
  ln -s "$ROOT" "$link"
fi
echo "setup: ready ($(nix --version), $("$VENV/bin/ansible" --version | awk "NR == 1"))"
