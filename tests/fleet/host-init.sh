#!/bin/sh
# Runs as the first child of tini, PID 2 of a fleet host's own PID, mount and UTS namespaces
# (see nsfleet.py). Gives the host its own hostname, /nix, /run, /etc/nix, /etc/ssh and /var/lib,
# optionally removes every Python interpreter from its view, then starts its sshd listener.
# Environment: HOST_NAME, HOST_ROOT (the host's private directories), PRIVATE_DIRS (what to
# bind-mount from there), NO_PYTHON (0/1), PYTHON_BIN_DIRS (PATH directories holding python*
# entries) and PYTHON_LIB_DIRS (Python's libraries), hidden when NO_PYTHON=1; ACCOUNT_FILES (the
# host's own /etc/passwd, shadow, ... when it has a deploy user) and NIX_DAEMON (1: a nix-daemon,
# run by root, owns the store).
set -eu

hostname "$HOST_NAME"
for file in ${ACCOUNT_FILES:-}; do
  mount --bind "$HOST_ROOT/$file" "/$file"
done
# In PRIVATE_DIRS' order: root comes last (HOST_ROOT may be under /root).
for dir in $PRIVATE_DIRS; do
  [ -d "/$dir" ] || mkdir -p "/$dir"  # an empty mount point (scripts/setup.sh makes them)
  mount --bind "$HOST_ROOT/$dir" "/$dir"
done
if [ -n "${NIX_TMPFS_SIZE:-}" ]; then
  # A small /nix, for tests of a full store.
  mount -t tmpfs -o "size=$NIX_TMPFS_SIZE,mode=0755" nixstore /nix
fi

if [ "$NO_PYTHON" = 1 ]; then
  # An overlay whose top layer holds whiteouts: the python* entries vanish from the directory.
  # The whiteouts live on a tmpfs of this namespace: overlayfs refuses them on an overlay (as a
  # machine running under systemd-nspawn --volatile=overlay has), and they go with the host.
  for dir in $PYTHON_BIN_DIRS; do
    whiteouts="$HOST_ROOT/../no-python$(echo "$dir" | tr / _)"
    mkdir -p "$whiteouts"
    mount -t tmpfs -o size=64k,mode=0755 nopython-whiteouts "$whiteouts"
    for entry in "$dir"/python*; do
      mknod "$whiteouts/${entry##*/}" c 0 0
    done
    mount -t overlay nopython -o "lowerdir=$whiteouts:$dir" "$dir"
  done
  for dir in $PYTHON_LIB_DIRS; do
    mount -t tmpfs -o ro,size=4k,mode=0755 nopython "$dir"
  done
fi

if [ "${NIX_DAEMON:-0}" = 1 ]; then
  # The daemon reads the host's nix.conf only (not the caller's NIX_CONFIG).
  mkdir -p /nix/var/log
  # Started from a subshell that exits, so tini (PID 1) adopts and reaps it, as init would.
  (env -u NIX_CONFIG setsid nix-daemon </dev/null >>/nix/var/log/nix-daemon.log 2>&1 &)
  i=0
  until [ -S /nix/var/nix/daemon-socket/socket ]; do
    i=$((i + 1)); [ $i -le 100 ] || { echo "nix-daemon did not start" >&2; exit 1; }; sleep 0.1
  done
fi

mkdir -p /run/sshd
chmod 0755 /run/sshd
/usr/sbin/sshd -f /etc/ssh/sshd_config
exec sleep infinity
