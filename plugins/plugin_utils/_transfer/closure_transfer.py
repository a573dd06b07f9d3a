# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Getting a closure onto a target: pushed from the controller (``nix copy`` over the host's own ssh
settings, optionally substituting on the target first) or pulled by the target from a binary cache.
Used by copy_closure, switch (its O(copy)) and nix_profile; nothing is copied when the path is already valid there."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Optional, Sequence

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle import copy_lock
from ansible_collections.nixfleet.nixos.plugins.module_utils._progress import copy_progress
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_argv import FRESH_NARINFO
from ansible_collections.nixfleet.nixos.plugins.module_utils._caches.nix_conf import validate_store_url
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import argv, raw
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.store_path import store_path_option
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._transfer.copy_watch import CopyStalled
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.remote_shell import RemoteShell
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.ssh_target import SshTarget


class Mode(str, Enum):
    """How a closure reaches a host: the controller pushes it over ssh, the host substitutes it from
    the controller's store, or the host fetches it from a binary cache."""

    PUSH = "push"
    SUBSTITUTE = "substitute"
    CACHE = "cache"


MODES = tuple(m.value for m in Mode)
SCHEMES = tuple(copy_lock.PROGRAMS)  # the Nix store protocols over ssh: ssh-ng, ssh
UNREACHABLE = "cannot open connection to remote store"
# Nix 2.8: "... is not signed by any of the keys"; 2.34: "ignoring substitute ..., as it's not signed by
# any of the keys in 'trusted-public-keys'".
UNTRUSTED = "not signed by any of the keys"
# A push as a user the host's Nix does not trust, of paths no key it trusts signed. Nix 2.8: "cannot add
# path '…' because it lacks a valid signature"; 2.20+: "… because it lacks a signature by a trusted key".
UNSIGNED = "because it lacks a"
# A push as a non-root user goes through the host's nix-daemon; when none answers, ssh-ng:// says only
# "Nix daemon disconnected unexpectedly" (2.26+), ssh:// "cannot connect to socket at '…daemon-socket…'".
NO_DAEMON = ("Nix daemon disconnected unexpectedly", "cannot connect to socket at")


@dataclass(frozen=True)
class Transfer:
    mode: str = Mode.PUSH.value
    cache_url: Optional[str] = None
    scheme: str = "ssh-ng"
    check_sigs: bool = False
    lock_timeout: int = copy_lock.DEFAULT_WAIT  # seconds to wait for another copy to the same host
    from_store: Optional[str] = None  # push from this store (a cache: a manifest deploy), not the controller's
    stall_timeout: int = copy_progress.DEFAULT_STALL_TIMEOUT  # seconds a push may make no progress (0: no limit)

    def validate(self) -> None:
        if self.lock_timeout < 0:
            raise NixError("copy_lock_timeout must be >= 0 seconds, not %d" % self.lock_timeout)
        if self.stall_timeout < 0:
            raise NixError("copy_stall_timeout must be >= 0 seconds (0: no limit), not %d" % self.stall_timeout)
        if self.mode == Mode.CACHE and not self.cache_url:
            raise NixError("mode=cache needs cache_url (the binary cache the target pulls from)")
        for option in ("cache_url", "from_store"):
            if getattr(self, option) is not None:
                validate_store_url(getattr(self, option), option)  # one URL: Nix splits substituters on whitespace


def is_valid(shell: RemoteShell, path: str) -> bool:
    """Is ``path`` valid in the target's store? The running system is (activation needs a valid
    path), which spares an unchanged host a ``nix-store`` process."""
    running = raw('[ "$(readlink /run/current-system 2>/dev/null)" = @{path} ]', path=path)
    return shell.run(running.or_else(argv("nix-store", "--check-validity", path)), privileged=False).rc == 0


def ensure(
    shell: RemoteShell,
    path: str,
    transfer: Transfer,
    nix: NixCli,
    target: Callable[[], SshTarget],
    check_mode: bool = False,
    build_from: Optional[str] = None,
) -> bool:
    """Make ``path`` valid on the target; True when it had to be (or, in check mode, would be) copied.
    ``target`` gives the host's ssh destination, asked for only when pushing. ``build_from``: the
    derivation of ``path``, to build on the target instead (its closure of derivations and sources is
    pushed, then the target realises it: deploy-rs remoteBuild, colmena buildOnTarget)."""
    check(transfer, build_from, shell.label)
    if is_valid(shell, path):
        return False
    if not check_mode:
        deliver(shell, path, transfer, nix, target, build_from)
    return True


def build_source(build_on_target: bool, drv_path: Optional[str]) -> Optional[str]:
    """The derivation to realise on the target with ``build_on_target`` (None: copy the path itself)."""
    if not build_on_target:
        return None
    if not drv_path:
        raise NixError("build_on_target needs drv_path (the derivation of path)")
    return store_path_option(drv_path, "drv_path")


def check(transfer: Transfer, build_from: Optional[str], host: str) -> None:
    """Refuse a transfer that cannot work before anything is asked of the host."""
    transfer.validate()
    if build_from is not None and transfer.mode == Mode.CACHE:
        raise NixError(
            "a system built on the target is not pulled from a cache: use copy mode push or substitute "
            "with build on target",
            host=host,
        )


def deliver(
    shell: RemoteShell,
    path: str,
    transfer: Transfer,
    nix: NixCli,
    target: Callable[[], SshTarget],
    build_from: Optional[str] = None,
) -> None:
    """Put ``path``, which the target lacks, on it (see :func:`ensure`, which checks first)."""
    if transfer.mode == Mode.CACHE:
        fetch(shell, path, transfer.cache_url or "")
    else:
        push(nix, target(), [build_from or path], transfer, derivation=build_from is not None, shell=shell)
        if build_from is not None:
            realise(shell, build_from, path)
    # A pushed closure is valid once nix copy succeeds (the switch's own probe looks again); a pull
    # is checked here, since a cache may hand out less than asked for.
    if transfer.mode == Mode.CACHE and not is_valid(shell, path):
        raise NixError("%s is still not valid on the target after the copy" % path, host=shell.label)


def push(
    nix: NixCli,
    destination: SshTarget,
    paths: Sequence[str],
    transfer: Transfer,
    derivation: bool = False,
    shell: Optional[RemoteShell] = None,
) -> None:
    """``nix copy`` of the closures of ``paths`` to the target, behind the target's copy lock (two copies
    of one path at once break Nix's protocol), substituting there first in substitute mode. From another
    ssh store (``transfer.from_store``, a build host) no ssh master connection is reused: NIX_SSHOPTS
    serves both connections, and a master is one host's. A copy without progress for
    ``transfer.stall_timeout`` seconds is ended; the error says how far it got and (asked over
    ``shell``, the host's own connection) which paths the host still lacks."""
    substitute = transfer.mode == Mode.SUBSTITUTE
    if transfer.from_store and transfer.from_store.startswith(("ssh://", "ssh-ng://")):
        destination = destination.without_master()
    token = uuid.uuid4().hex  # marks this copy's Nix program on the host, to end it should the copy stall
    url = copy_lock.store_url(
        destination.store_url(transfer.scheme),
        transfer.scheme,
        transfer.lock_timeout,
        heartbeat=copy_lock.heartbeat_for(transfer.stall_timeout),
        token=token,
    )
    try:
        nix.copy(
            list(paths),
            url,
            env=destination.nix_env(),
            host=destination.label,
            substitute_on_destination=substitute,
            no_check_sigs=not transfer.check_sigs,
            fresh_narinfo=substitute,
            derivation=derivation,
            from_store=transfer.from_store,
            extra_substituters=[transfer.cache_url] if substitute and transfer.cache_url else [],
            stall_timeout=transfer.stall_timeout,
            destination=destination.label,
        )
    except CopyStalled as stall:
        raise stalled_error(stall, nix, destination, paths, transfer, shell, token)
    except NixError as exc:
        locked = copy_lock.locked_message(exc.stderr)
        if locked:
            raise NixError("%s; nothing was copied or switched" % locked, command=exc.command, host=destination.label)
        if UNSIGNED in exc.stderr:
            raise unsigned_push_error(exc, destination, " ".join(paths))
        if any(words in exc.stderr for words in NO_DAEMON):
            raise no_daemon_error(exc, destination)
        if UNREACHABLE in exc.stderr:
            exc.unreachable = True
        raise


def stalled_error(
    stall: CopyStalled,
    nix: NixCli,
    destination: SshTarget,
    paths: Sequence[str],
    transfer: Transfer,
    shell: Optional[RemoteShell],
    token: str,
) -> NixError:
    """The error of a copy that stalled: how far it got, and which paths of the closure the host still
    lacks (None when it cannot say in time: its store may be what hangs). First the copy's own Nix
    program on the host is ended (as the login user, by the copy's token): nothing else is touched."""
    lacking = None
    if shell is not None:
        # (a connection that fails now is an exit code: the stall is what the user must read)
        with shell.disconnect_tolerated():
            try:
                shell.run(copy_lock.end_copy_command(token), privileged=False)
                # (with --derivation, the closure of the .drv files themselves: what path-info lists for them)
                closure = sorted(nix.path_info(list(paths), store=transfer.from_store, recursive=True))
                answer = shell.run(copy_progress.lacking_command(), stdin="".join(p + "\n" for p in closure))
                lacking = copy_progress.parse_lacking(answer.stdout) if answer.rc == 0 else None
            except NixError:
                lacking = None
    message = copy_progress.stalled_message(
        destination.store_url(transfer.scheme), stall.seconds, stall.watched.log, stall.watched.written, lacking
    )
    return NixError(message, command=stall.command, host=destination.label)


def realise(shell: RemoteShell, drv: str, path: str) -> None:
    """Build ``drv`` on the target (``nix-store --realise``, with the target's own builders and
    substituters); it must give ``path``, the system the controller evaluated."""
    built = shell.run(argv("nix-store", "--realise", drv))
    if built.rc != 0:
        raise NixError(
            "building %s on the target failed; nothing was switched" % drv,
            rc=built.rc,
            stderr=built.stderr,
            host=shell.label,
        )
    if path not in built.stdout.split():
        raise NixError(
            "building %s on the target gave %s, not %s" % (drv, built.stdout.strip() or "nothing", path),
            host=shell.label,
        )


def unsigned_push_error(exc: NixError, destination: SshTarget, path: str) -> NixError:
    """The host's Nix refused the pushed paths: its ssh user is not trusted and they are not signed."""
    user = destination.user or "the ssh user"
    return NixError(
        "the host's Nix does not trust %s (it is not in trusted-users), so it takes only paths signed by a key in "
        "its trusted-public-keys, and the closure of %s is not. Either sign the closure on the controller with a key "
        "the host trusts (nix store sign --key-file KEY --recursive PATH, or secret-key-files in the controller's "
        "nix.conf; check_sigs: true then also checks the signatures on the way), or add %s to the host's "
        "trusted-users (nixfleet.nixos.nix_conf trusted_users; on NixOS nix.settings.trusted-users); nothing was "
        "switched" % (user, path, user),
        command=exc.command,
        rc=exc.rc,
        stderr=exc.stderr,
        host=destination.label,
    )


def no_daemon_error(exc: NixError, destination: SshTarget) -> NixError:
    """ssh worked, but the Nix that the copy started on the host could not reach the host's nix-daemon."""
    user = destination.user or "the ssh user"
    return NixError(
        "the copy logged in as %s, but Nix there could not talk to the host's nix-daemon, which a user other than "
        "root copies through: is nix-daemon running on the host (systemctl status nix-daemon)? nothing was "
        "switched" % user,
        command=exc.command,
        rc=exc.rc,
        stderr=exc.stderr,
        host=destination.label,
    )


def fetch(shell: RemoteShell, path: str, cache_url: str) -> None:
    """The target substitutes ``path`` from ``cache_url``, checking signatures as its nix.conf says."""
    fetched = shell.run(argv("nix-store", "--realise", path, "--option", "substituters", cache_url, *FRESH_NARINFO))
    if fetched.rc == 0:
        return
    if UNTRUSTED in fetched.stderr:
        raise NixError(
            "%s refused %s from %s: it is not signed by any key in the host's trusted-public-keys. "
            "Add the cache's public key there (nixfleet.nixos.nix_conf, role substituters; on NixOS "
            "nix.settings.trusted-public-keys), or sign the paths with a key the host trusts; "
            "nothing was switched" % (shell.label, path, cache_url),
            rc=fetched.rc,
            stderr=fetched.stderr,
            host=shell.label,
        )
    raise NixError(
        "fetching %s from %s failed" % (path, cache_url), rc=fetched.rc, stderr=fetched.stderr, host=shell.label
    )
