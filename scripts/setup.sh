#!/usr/bin/env bash
# Install everything the tests and the demo need on a Debian 12 or 13 machine, as root. Idempotent:
# Debian packages (scripts/debian-packages.txt: Nix from nix-bin, OpenSSH, busybox, tini), a pinned
# Python venv in .venv, and the collection linked at .collections/ansible_collections/nixfleet/nixos.
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

# shellcheck source=env.sh
source "$ROOT/scripts/env.sh"
VENV=$NIXFLEET_VENV
REQ="$ROOT/tests/requirements.txt"
if [[ -n ${NIXFLEET_ANSIBLE_CORE:-} ]]; then
  # Another ansible-core with the pinned tools the version tests use; Molecule and ansible-lint
  # (which require ansible-core ranges of their own) stay with the pinned version.
  REQ=$(mktemp)
  sed -e "s/^ansible-core==.*/ansible-core==$NIXFLEET_ANSIBLE_CORE/" -e '/^molecule==/d' -e '/^ansible-lint==/d' \
    "$ROOT/tests/requirements.txt" > "$REQ"
fi
STAMP="$VENV/.requirements.sha256"
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [[ ! -x "$VENV/bin/python" || "$(cat "$STAMP" 2>/dev/null)" != "$want" ]]; then
  echo "setup: creating the Python venv in $VENV"
  /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ"
  echo "$want" > "$STAMP"
fi
if [[ -n ${NIXFLEET_ANSIBLE_CORE:-} ]]; then rm -f "$REQ"; fi

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
