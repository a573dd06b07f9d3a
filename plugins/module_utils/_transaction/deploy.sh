# shellcheck shell=sh
# nixfleet.nixos deploy transaction: one change of a host's generation, run detached on the target by
# its /bin/sh (dash, bash or busybox ash: POSIX constructs only). Internal to the collection.
#
# Every input is a `name=value` argument, each one word quoted by the controller's argv() (see
# command.py, which lists them); nothing here is templated. The controller prepends the shared shell
# functions this script calls: nf_ours (own_processes.function) and audit (audit_log.append_function).
#
# It reports through files in the work directory: out/err (activation output), restore, holder,
# rc (activation exit code, or the verdict's own code) and status (the verdict's word); the words
# and codes are protocol.Verdict's.

work_dir=''; lock_file=''; lock_wait=60; owner=''; nixos_lock=''; profile=''
path=''; running_path=''; running_link=''; sets_profile=''; sets_running=''; creates_generation=''
expected_link=''; to_generation=''; run_as=''; profile_owner=''; prev_generation=''; prev_profile_path=''
prev_running=''; activates=nixos; action=switch; install_bootloader=''; activation_timeout=0; auto_rollback=''
confirm_timeout=0; audit=''; nothing_to_activate=''; deploy_rs_activate=''
audit_head=''; audit_profile=''; audit_log=''; audit_keep=1  # audit_log.append_function's inputs
for arg do
  value=${arg#*=}
  case $arg in
    work_dir=*) work_dir=$value ;;
    lock_file=*) lock_file=$value ;;
    lock_wait=*) lock_wait=$value ;;
    owner=*) owner=$value ;;
    nixos_lock=*) nixos_lock=$value ;;
    profile=*) profile=$value ;;
    path=*) path=$value ;;
    running_path=*) running_path=$value ;;
    running_link=*) running_link=$value ;;
    sets_profile=*) sets_profile=$value ;;
    sets_running=*) sets_running=$value ;;
    creates_generation=*) creates_generation=$value ;;
    expected_link=*) expected_link=$value ;;
    to_generation=*) to_generation=$value ;;
    run_as=*) run_as=$value ;;
    profile_owner=*) profile_owner=$value ;;
    prev_generation=*) prev_generation=$value ;;
    prev_profile_path=*) prev_profile_path=$value ;;
    prev_running=*) prev_running=$value ;;
    activates=*) activates=$value ;;
    action=*) action=$value ;;
    install_bootloader=*) install_bootloader=$value ;;
    activation_timeout=*) activation_timeout=$value ;;
    auto_rollback=*) auto_rollback=$value ;;
    confirm_timeout=*) confirm_timeout=$value ;;
    audit=*) audit=$value ;;
    nothing_to_activate=*) nothing_to_activate=$value ;;
    deploy_rs_activate=*) deploy_rs_activate=$value ;;
    audit_head=*) audit_head=$value ;;
    audit_profile=*) audit_profile=$value ;;
    audit_log=*) audit_log=$value ;;
    audit_keep=*) audit_keep=$value ;;
    *) echo "nixfleet-tx: unknown argument ${arg%%=*}" >&2; exit 2 ;;
  esac
done
W=$work_dir
mkdir -p "$W"

# The verdict is written before the exit code, so whoever sees the exit code sees the verdict; only
# the watchdog writes the exit code first and its verdict later. Outcomes that changed the host are
# on record (audit), with the activation's exit code.
finish() {
  if [ -n "$audit" ]; then
    case "$1" in
      done | confirmed | failed-restored | rolled-back)
        audit "$audit_head" "$audit_profile" "$audit_log" "$audit_keep" "$1" "${2:-${arc:-}}" ;;
    esac
  fi
  echo "$1" > "$W/status"
  if [ -n "${2:-}" ]; then echo "$2" > "$W/rc"; fi
  exit 0
}

# Run as the profile's user (deploy-rs), or as root.
as_user() {
  if [ -n "$run_as" ]; then runuser -u "$run_as" -- "$@"; else "$@"; fi
}

# switch-to-configuration ACTION of the system (or its specialisation), or the profile's
# deploy-rs-activate as its user, within the time limit.
activation() {
  if [ "$activates" = deploy-rs ]; then
    if [ ! -x "$profile/$deploy_rs_activate" ]; then
      echo "$nothing_to_activate"
      return 0
    fi
    set -- env PROFILE="$profile" "$profile/$deploy_rs_activate"
    if [ -n "$run_as" ]; then set -- runuser -u "$run_as" -- "$@"; fi
  else
    set -- "$running_path/bin/switch-to-configuration" "$action"
  fi
  if [ -n "$install_bootloader" ]; then set -- env NIXOS_INSTALL_BOOTLOADER=1 "$@"; fi
  if [ "$activation_timeout" -gt 0 ]; then set -- timeout -k 10 "$activation_timeout" "$@"; fi
  "$@"
}

# Is /run/current-system what the activation must leave there (true when it moves no running system)?
running_ok() {
  [ -z "$sets_running" ] || [ "$(readlink "$running_link" 2>/dev/null)" = "$running_path" ]
}

# Does the profile already hold the new system (true when the action sets no profile)?
profile_done() {
  [ -z "$sets_profile" ] || [ "$(readlink -f "$profile" 2>/dev/null)" = "$path" ]
}

# Back to what the controller saw before.
restore() {
  if [ -n "$sets_profile" ]; then
    now=$(readlink "$profile" 2>/dev/null || true)
    if [ "$now" != "$expected_link" ]; then
      if [ -n "$prev_generation" ]; then
        as_user nix-env -p "$profile" --switch-generation "$prev_generation" >>"$W/restore" 2>&1
        if [ -n "$creates_generation" ]; then
          gen=${now%-link}; gen=${gen##*-}
          [ -n "$gen" ] && nix-env -p "$profile" --delete-generations "$gen" >>"$W/restore" 2>&1
        fi
      else
        rm -f "$profile" "$(dirname "$profile")/$now"
      fi
    fi
    if [ "$activates" = deploy-rs ]; then
      # deploy-rs activates the restored generation again
      if [ -n "$prev_generation" ]; then activation >>"$W/restore" 2>&1 9>&-; fi
    elif [ -n "$prev_profile_path" ]; then
      "$prev_profile_path/bin/switch-to-configuration" boot >>"$W/restore" 2>&1 9>&-
    fi
  fi
  if [ -n "$sets_running" ]; then
    if [ -n "$prev_running" ]; then
      "$prev_running/bin/switch-to-configuration" test >>"$W/restore" 2>&1 9>&-
    else
      rm -f "$running_link"
    fi
  fi
  true
}

# The holder of NixOS's lock (from /proc/locks, by the lock file's inode: the first such lock's
# process that is this host's), when someone holds it: nothing has been changed yet.
nixos_lock_check() {
  if [ -e "$nixos_lock" ] && ! flock -n "$nixos_lock" true 2>/dev/null; then
    ino=$(stat -c %i "$nixos_lock")
    pid=$(awk -v ino="$ino" '$2 == "FLOCK" { n = split($6, f, ":"); if (f[n] == ino) print $5 }' /proc/locks |
      while read -r c; do if nf_ours "$c" "$nixos_lock"; then echo "$c"; break; fi; done)
    echo "process ${pid:-unknown}: $(tr '\0' ' ' 2>/dev/null < "/proc/${pid:-0}/cmdline")" > "$W/holder"
    finish nixos-locked 79
  fi
}

exec 9>>"$lock_file"
if ! flock -w "$lock_wait" 9; then
  cat "$lock_file.owner" > "$W/holder" 2>/dev/null
  finish locked 75
fi
printf '%s\n' "$owner" > "$lock_file.owner"
# after our own lock: another deploy of ours has finished by now
if [ -n "$nixos_lock" ]; then nixos_lock_check; fi
if running_ok && profile_done; then finish noop 78; fi
if [ "$(readlink "$profile" 2>/dev/null || true)" != "$expected_link" ]; then
  readlink "$profile" > "$W/holder" 2>&1
  finish stale 76
fi
if [ -n "$sets_profile" ]; then
  # a user's profile directory is the user's (as Nix makes per-user/USER)
  if [ -n "$profile_owner" ]; then
    dir=$(dirname "$profile")
    [ -d "$dir" ] || install -d -o "$profile_owner" "$dir" >"$W/err" 2>&1 || finish profile 77
  fi
  if [ -n "$to_generation" ]; then
    set -- nix-env -p "$profile" --switch-generation "$to_generation"
  else
    set -- nix-env -p "$profile" --set "$path"
  fi
  if ! as_user "$@" >>"$W/err" 2>&1; then finish profile 77; fi
fi
# 9>&-: services the activation starts must not inherit (and so hold) the lock.
activation >"$W/out" 2>>"$W/err" </dev/null 9>&-
arc=$?
if { [ $arc -ne 0 ] && [ $arc -ne 4 ]; } || ! running_ok; then
  [ $arc -eq 0 ] && arc=1
  if [ -n "$auto_rollback" ]; then
    restore
    finish failed-restored $arc
  fi
  finish failed-kept $arc
fi
if [ "$confirm_timeout" -gt 0 ]; then
  canary=$W/canary
  : > "$canary"
  echo $arc > "$W/rc"
  i=0
  while [ -e "$canary" ] && [ $i -lt $((confirm_timeout * 5)) ]; do sleep 0.2; i=$((i + 1)); done
  if [ -e "$canary" ]; then
    restore
    rm -f "$canary"
    finish rolled-back
  fi
  finish confirmed
fi
finish "done" $arc
