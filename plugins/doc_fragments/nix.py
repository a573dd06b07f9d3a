# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Options of every task that runs nix on the controller.
    DOCUMENTATION = r"""
options:
  nix_args:
    description:
      - Extra arguments for every C(nix) call on the controller, for example
        C([--builders, ssh://builder x86_64-linux]) or C([--override-input, nixpkgs, path:/src/nixpkgs]).
    type: list
    elements: str
    default: []
  nix_binary:
    description: The C(nix) executable on the controller.
    type: str
    default: nix
"""

    # Options of every task that works on a profile of the target.
    PROFILE = r"""
options:
  profile:
    description: The Nix profile on the target.
    type: str
    default: /nix/var/nix/profiles/system
"""

    # Options of the tasks that change a host's generation (switch, rollback).
    SAFETY = r"""
options:
  magic_rollback:
    description:
      - For C(switch) and C(test), start a watchdog on the target before activating. The controller
        must then reach the host over a B(fresh) ssh connection (never a reused ControlMaster
        socket) within O(confirm_timeout) seconds; if it cannot (the new generation broke sshd or the
        network), the watchdog itself restores the previous generation and the task fails with
        C(lost contact, target rolled itself back).
    type: bool
    default: true
  confirm_timeout:
    description: Seconds the watchdog waits for the controller's confirmation.
    type: int
    default: 30
  lock_timeout:
    description:
      - Seconds to wait for the host's deploy lock (C(flock) on C(/nix/var/nix/nixfleet-deploy.lock)),
        held from before the profile changes until confirmation. Two deploys never interleave on a
        host; the one that waits too long fails with a message naming the holder.
    type: int
    default: 60
  auto_rollback:
    description:
      - When activation fails (a non-zero exit other than 4, or C(/run/current-system) did not move),
        restore the previous generation (profile, boot entry, running system). With C(false)
        (deploy-rs C(autoRollback = false)) the host is left as the failed activation left it and
        the task fails saying so.
    type: bool
    default: true
  activation_timeout:
    description:
      - Seconds C(switch-to-configuration) may run; then it is killed (coreutils C(timeout)) and the
        activation counts as failed (deploy-rs C(activationTimeout)). C(0) means no limit.
    type: int
    default: 0
  temp_path:
    description:
      - The directory on the target that holds each transaction's work files (its script, output,
        status and the watchdog's canary), deploy-rs C(tempPath). An absolute path without C(..).
    type: str
    default: /run/nixfleet
  audit_log_keep:
    description:
      - How many records the host's audit log (C(/nix/var/nixfleet/audit.log)) keeps at least. Each
        change of a generation appends one; before it does, the change itself (on the host, under the
        deploy lock) renames a log that already holds this many to C(audit.log.1), replacing the
        previous one, and starts a new log. So the log never grows past twice this many records.
      - M(nixfleet.nixos.facts) and C(playbooks/verify.yml) read both files.
    type: int
    default: 1000
"""

    # How the controller pushes to a host's store over ssh (copy_closure, nix_profile, remote_build).
    SSH_STORE = r"""
options:
  scheme:
    description: The Nix store protocol over ssh to the receiving host (C(ssh-ng) is the modern one, C(ssh) the legacy one).
    type: str
    default: ssh-ng
    choices: [ssh-ng, ssh]
  check_sigs:
    description:
      - Whether the receiving host (the target, or a build host) must check signatures of pushed paths. By default unsigned paths are
        pushed with C(--no-check-sigs), which it only accepts from a trusted user (C(root)
        or a member of C(trusted-users)).
      - A receiving host whose Nix does not trust the ssh user (a non-root C(deploy) user not in
        C(trusted-users)) takes only paths signed by a key in its C(trusted-public-keys), whatever
        this says; unsigned, the task fails saying so (sign the closure on the controller, or trust
        the user) and nothing is switched.
    type: bool
    default: false
  copy_lock_timeout:
    description:
      - Seconds to wait for another push to the same receiving host.
      - Pushes to one host take turns. Nix on the target runs behind C(flock) on
        C(/nix/var/nix/nixfleet-copy.lock) (a wrapper around its C(remote-program)), because two
        copies of one path at once break Nix's protocol (Nix fails with C(not an absolute path)
        C('nix-archive-1')). The push that waited then copies only what is still missing; after
        this many seconds it fails naming the holder and copies nothing.
      - The lock is skipped when the ssh user may not create the lock file or the target has no C(flock).
      - Before that, the wrapper ends the ssh user's stale copies into this host's store (a C(nix-daemon --stdio) or
        C(nix-store --serve) whose ssh session is gone; never a process of another host, container or
        chroot that C(/proc) shows too). On a host with a nix-daemon, a copy cut off
        half-way leaves one that holds the half-sent path's lock forever, and the next copy of that
        path would hang on it.
    type: int
    default: 600
  copy_stall_timeout:
    description:
      - Seconds a push may go without any progress before it is stopped and the task fails; C(0) means
        no limit.
      - Progress is anything the copy does, such as a path begun or sent, bytes streaming to the receiving host
        (read from C(/proc) on a Linux controller), a download its nix-daemon reports while it
        substitutes, the copy lock's wrapper saying it still waits for another push. A host whose Nix
        stops answering (a stuck or stopped nix-daemon) makes none, and the copy would otherwise hang
        until Ansible's own timeout.
      - The copy's own end on the receiving host (the Nix program its ssh session started, marked with
        a token of this copy) is ended too, and nothing else there; through a nix-daemon it would keep
        the daemon's worker, and the lock of the path it was adding, for ever.
      - The failure says how far the copy got (how many of the paths the host lacked were sent, and
        which one was on its way) and which paths the host still lacks (asked over the task's own
        connection, within 30 seconds). Nothing is switched; paths that arrived stay, so the next run
        copies only the rest.
      - On a controller without C(/proc) (macOS) only Nix's log counts, and a single path larger than
        this many seconds of transfer would be taken for a stall, so raise it there.
    type: int
    default: 300
"""

    # How a closure reaches the target (copy_closure, nix_profile; with SSH_STORE).
    TRANSFER = r"""
options:
  mode:
    description:
      - C(push) copies from the controller.
      - C(substitute) copies from the controller, but the target first fetches what it can from
        its own substituters and, when given, O(cache_url) (C(--substitute-on-destination)).
      - C(cache) makes the target fetch everything from O(cache_url), checking signatures against
        its C(trusted-public-keys).
    type: str
    default: push
    choices: [push, substitute, cache]
  cache_url:
    description:
      - The binary cache for O(mode=cache), for example C(https://cache.example.com); with
        O(mode=substitute), a cache the target substitutes from before anything is pushed to it.
    type: str
  from_store:
    description:
      - Push from this store instead of the controller's own (C(nix copy --from FROM_STORE --to TARGET)),
        for example the binary cache a pre-built deploy's manifest names; the paths stream through the
        controller without entering its store.
    type: str
"""

    # Attributes every nixfleet.nixos action plugin shares (check_mode and diff_mode differ). Modules
    # list ansible.builtin.action_common_attributes(.flow) before this: fragments cannot extend others.
    ATTRIBUTES = r"""
attributes:
  action:
    support: full
    details: Runs on the controller; the target only runs POSIX shell commands, so it needs no Python.
  async:
    support: none
  bypass_host_loop:
    support: none
  platform:
    support: full
    platforms: posix
    details: NixOS hosts, and other Linux hosts with Nix for non-system profiles.
"""

    # With ATTRIBUTES, for the modules that only read and report (they change nothing on any host).
    READ_ONLY = r"""
attributes:
  check_mode:
    support: full
    details: It changes nothing, so it runs the same in check mode.
  diff_mode:
    support: none
"""
