#!/usr/bin/env bash
# The ways users deploy NixOS hosts today, for the benchmark to compare against:
#
#   baseline.sh sequential FLAKE HOSTS   nixos-rebuild --target-host, host after host
#   baseline.sh parallel   FLAKE HOSTS   the same per-host sequence, fanned out by a shell loop
#   baseline.sh floor      FLAKE HOSTS   one metadata eval + one parallel `ssh readlink` round
#
# HOSTS is a file of "name address port" lines. The ssh client settings come from the environment:
# BENCH_SSH_KEY and BENCH_KNOWN_HOSTS (host-key checking stays on). The per-host sequence is what
# nixos-rebuild switch --flake FLAKE#NAME --target-host root@ADDRESS runs: nix build (eval + build
# of that one system), nix-copy-closure --to, ssh nix-env -p PROFILE --set, ssh
# switch-to-configuration switch, over one ssh master connection per host (nixos-rebuild sets
# ControlMaster/ControlPersist in NIX_SSHOPTS and closes the master at the end).
set -euo pipefail
mode=$1 flake=$2 hosts=$3
profile=/nix/var/nix/profiles/system
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ssh_opts() {  # ssh options for one host, as NIX_SSHOPTS would carry them
  local port=$1 master=$2
  printf -- '-p %s -i %s -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o BatchMode=yes' \
    "$port" "$BENCH_SSH_KEY" "$BENCH_KNOWN_HOSTS"
  if [[ $master == yes ]]; then
    printf -- ' -o ControlMaster=auto -o ControlPath=%s/ssh-%%n -o ControlPersist=60' "$work"
  fi
}

deploy_host() {  # the nixos-rebuild --target-host sequence for one host
  local name=$1 address=$2 port=$3 opts path
  opts=$(ssh_opts "$port" yes)
  nix build --out-link "$work/result-$name" "$flake#nixosConfigurations.\"$name\".config.system.build.toplevel"
  path=$(readlink -f "$work/result-$name")
  # shellcheck disable=SC2086
  NIX_SSHOPTS="$opts" nix-copy-closure --to "root@$address" "$path"
  # shellcheck disable=SC2086
  ssh $opts "root@$address" nix-env -p "$profile" --set "$path"
  # shellcheck disable=SC2086
  ssh $opts "root@$address" "$path/bin/switch-to-configuration" switch >/dev/null
  # shellcheck disable=SC2086
  ssh $opts -O exit "root@$address" 2>/dev/null || true
}

case "$mode" in
  sequential)
    while read -r name address port; do
      deploy_host "$name" "$address" "$port" < /dev/null
    done < "$hosts"
    ;;
  parallel)
    pids=()
    while read -r name address port; do
      deploy_host "$name" "$address" "$port" < /dev/null > "$work/$name.log" 2>&1 &
      pids+=("$!")
    done < "$hosts"
    failed=0
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    if ((failed)); then cat "$work"/*.log >&2; exit 1; fi
    ;;
  floor)
    # What any push tool must do at least to find out that nothing changed: evaluate the hosts'
    # metadata once (BENCH_METADATA_EXPR, the inventory's own expression) and ask every host what
    # it runs, all at once.
    nix eval --json --impure --expr "$BENCH_METADATA_EXPR" > /dev/null
    pids=()
    while read -r name address port; do
      # shellcheck disable=SC2046
      ssh $(ssh_opts "$port" no) "root@$address" readlink /run/current-system < /dev/null > "$work/$name.current" &
      pids+=("$!")
    done < "$hosts"
    for pid in "${pids[@]}"; do wait "$pid"; done
    ;;
  *)
    echo "usage: $0 sequential|parallel|floor FLAKE HOSTS" >&2
    exit 2
    ;;
esac
