#!/usr/bin/env bash
# The demo: set everything up, start a local fleet of three NixOS-like hosts (node03 has no
# Python), read them from the example flake with the nixfleet.nixos.flake inventory, deploy with
# playbooks/deploy.yml, show what the hosts run, deploy again (nothing to do), stop the fleet.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/scripts/setup.sh"
# shellcheck source=env.sh
source "$ROOT/scripts/env.sh"
cd "$ROOT"

STATE="$ROOT/.state/demo"
FLEET="$ROOT/tests/fleet/fleet"
if [[ -f "$STATE/fleet.json" ]]; then "$FLEET" down --state "$STATE"; fi  # left by an interrupted demo
rm -rf "$STATE"
trap '"$FLEET" down --state "$STATE" && echo "== fleet stopped"' EXIT

echo "== starting the fleet (node01-03 on 127.0.0.11-13, node03 without Python)"
"$FLEET" up --hosts 3 --no-python node03 --state "$STATE" >/dev/null
# Ansible (and so nix copy, which uses the same settings) reaches the hosts with the fleet's key,
# checking their host keys against the fleet's known_hosts.
export ANSIBLE_PRIVATE_KEY_FILE="$STATE/client/id_ed25519"
export ANSIBLE_SSH_COMMON_ARGS="-o UserKnownHostsFile=$STATE/client/known_hosts -o StrictHostKeyChecking=yes"

echo "== the inventory, read from the flake with one nix eval"
ansible-inventory -i inventories/demo.flake.yml --graph

echo "== deploying: ansible-playbook -i inventories/demo.flake.yml playbooks/deploy.yml"
ansible-playbook -i inventories/demo.flake.yml playbooks/deploy.yml

echo "== what each host runs now"
for name in node01 node02 node03; do
  printf '%s: /run/current-system -> %s, HTTP says: %s' "$name" \
    "$("$FLEET" exec "$name" --state "$STATE" -- readlink /run/current-system)" \
    "$(curl -s "http://127.0.0.$((10 + ${name#node0})):8080/")"
  echo
done

echo "== deploying again: nothing to copy, nothing to switch"
ansible-playbook -i inventories/demo.flake.yml playbooks/deploy.yml | tail -n 5
