# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""The base of every nixfleet.nixos action plugin.

Like community.hashi_vault's base class: the shared argument spec is generated here, each
plugin adds its own; arguments are validated before anything runs; a ``NixError`` becomes a
failed result with the command, exit code and stderr, and a ``ValueError`` (input the typed core
refused) one with its message and the host. Target commands go through the task's
Ansible connection (``_low_level_execute_command``), so targets need no Python; closures go
through the Nix CLI on the controller with the connection's own ssh settings.
"""

from __future__ import annotations

import contextlib
import os
import time
from abc import abstractmethod
from typing import Any, Dict, Iterator, Optional, Tuple

from ansible.plugins.action import ActionBase
from ansible.utils.path import unfrackpath

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.audit_log import Deployer, check_keep
from ansible_collections.nixfleet.nixos.plugins.module_utils._progress.copy_progress import DEFAULT_STALL_TIMEOUT
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_argv import NixSettings
from ansible_collections.nixfleet.nixos.plugins.module_utils._progress.progress_text import Phase
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.target_file import check_target_path
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._transfer import closure_transfer
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._progress import progress
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._progress.fleet_copies import FleetCopies, FleetHosts
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._progress.progress import Progress
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.activation import Activator
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.activation_models import Safety
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.deployer_identity import controller_identity
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.connection_shell import (
    ConnectionShell,
    has_fresh_connections,
)
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.remote_shell import RemoteShell
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.ssh_target import SshTarget

NIX_ARGSPEC = {
    "nix_args": {"type": "list", "elements": "str", "default": []},
    "nix_binary": {"type": "str", "default": "nix"},
}
PROFILE_ARGSPEC = {
    "profile": {"type": "str", "default": "/nix/var/nix/profiles/system"},
}
_SAFE = Safety()  # its defaults are the options' (defined once, in activation_models.Safety)
SAFETY_ARGSPEC = {
    "magic_rollback": {"type": "bool", "default": _SAFE.magic_rollback},
    "confirm_timeout": {"type": "int", "default": _SAFE.confirm_timeout},
    "lock_timeout": {"type": "int", "default": _SAFE.lock_timeout},
    "auto_rollback": {"type": "bool", "default": _SAFE.auto_rollback},
    "activation_timeout": {"type": "int", "default": _SAFE.activation_timeout},
    "temp_path": {"type": "str", "default": _SAFE.work_root},
    "audit_log_keep": {"type": "int", "default": _SAFE.audit_keep},
}
# How the controller pushes to a host's store over ssh (copy_closure, nix_profile, remote_build).
SSH_STORE_ARGSPEC = {
    "scheme": {"type": "str", "default": "ssh-ng", "choices": list(closure_transfer.SCHEMES)},
    "check_sigs": {"type": "bool", "default": False},
    "copy_lock_timeout": {"type": "int", "default": 600},
    "copy_stall_timeout": {"type": "int", "default": DEFAULT_STALL_TIMEOUT},
}
# How a closure reaches the target (copy_closure, nix_profile; see plugin_utils._transfer.closure_transfer).
TRANSFER_ARGSPEC = dict(
    SSH_STORE_ARGSPEC,
    mode={"type": "str", "default": "push", "choices": list(closure_transfer.MODES)},
    cache_url={"type": "str"},
    from_store={"type": "str"},
)


def refuse_nul(value: Any, option: str = "") -> None:
    """A NUL byte fits in no command line, file name or nix.conf: refuse it, naming the option."""
    if isinstance(value, str) and "\0" in value:
        raise ValueError("%s: a NUL byte cannot be carried to the host (%r)" % (option or "argument", value[:80]))
    if isinstance(value, dict):
        for key, item in value.items():
            refuse_nul(key, option)
            refuse_nul(item, "%s.%s" % (option, key) if option else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            refuse_nul(item, "%s[%d]" % (option, index))


class NixosAction(ActionBase):
    """Subclasses set ``ARGSPEC`` and implement ``execute(args, task_vars) -> dict``."""

    ARGSPEC: Dict[str, Any] = {}
    TRANSFERS_FILES = False
    PATH_OPTIONS: Tuple[str, ...] = ()  # options holding paths on the target (checked before anything runs)
    _VALID_ARGS: frozenset = frozenset()
    _progress: Optional[Progress] = None
    FLEET_PHASE: Optional[Phase] = None  # a per-host task counted in one line across its hosts
    _counter: Optional[FleetHosts] = None

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        # When the task ran on this host (epoch seconds): the deploy report's per-host time comes
        # from these, so the role needs no extra tasks to note the time. Under a key of ours:
        # ansible-core owns result keys such as ``started`` and ``finished`` (2.20+ warns).
        started = time.time()
        args = self.validate_argument_spec(argument_spec=self.ARGSPEC)[1]
        try:
            refuse_nul(args)
            for option in ("profile", "temp_path") + self.PATH_OPTIONS:  # paths on the target, taken as they are
                if args.get(option) is not None:
                    check_target_path(args[option], option)
            with self._counted(task_vars):
                result.update(self.execute(args, task_vars))
        except NixError as exc:
            result.update(failed=True, **exc.to_result())
        except ValueError as exc:  # input (or output) the typed core refused: a name, a size, a key
            result.update(failed=True, **NixError(str(exc), host=self._label(task_vars)).to_result())
        result["nixfleet_timing"] = {"started": started, "finished": time.time()}
        return result

    @contextlib.contextmanager
    def _counted(self, task_vars: Dict[str, Any]) -> Iterator[None]:
        """With ``FLEET_PHASE``: the task's hosts counted in one progress line ("activating 8/50 hosts")."""
        if self.FLEET_PHASE is not None and not self._task.check_mode and self.progress().on:
            self._counter = FleetHosts(
                self.progress(), self._task._uuid, self.FLEET_PHASE, len(task_vars.get("ansible_play_batch") or [])
            )
            self.count(task_vars)
        try:
            yield
        finally:
            self.count(task_vars, finished=True)

    def count(self, task_vars: Dict[str, Any], finished: bool = False, **state: Any) -> None:
        """Note how far this host got in the task's count (``confirming=True``: it waits for its confirmation)."""
        if self._counter is not None:
            self._counter.record(self._label(task_vars), state, finished)

    @staticmethod
    def verdict(result: Dict[str, Any], problem: Optional[str], fail: bool, ok: str) -> Dict[str, Any]:
        """A check's outcome: ``problem`` fails the task when ``fail``, else it is a warning."""
        result["msg"] = problem or ok
        if problem:
            result["failed"] = fail
            if not fail:
                result["warnings"] = [problem]
        return result

    @abstractmethod
    def execute(self, args: Dict[str, Any], task_vars: Dict[str, Any]) -> Dict[str, Any]:
        """Do the task's work; return the result fields (raise ``NixError`` to fail)."""

    def shell(self, task_vars: Dict[str, Any]) -> ConnectionShell:
        return ConnectionShell(self, self._label(task_vars))

    def _label(self, task_vars: Dict[str, Any]) -> str:
        return task_vars.get("inventory_hostname") or self._play_context.remote_addr

    def fresh_shell(self, task_vars: Dict[str, Any]) -> Optional[RemoteShell]:
        """A shell that opens a new ssh connection per command (never a reused ControlMaster), with
        the connection's own become, for confirming that a new generation still accepts
        connections; None when the connection is not ssh."""
        if not has_fresh_connections(self):
            return None
        return ConnectionShell(self, self._label(task_vars), fresh=True)

    def activator(self, args: Dict[str, Any], task_vars: Dict[str, Any]) -> Activator:
        safety = Safety(
            magic_rollback=args["magic_rollback"],
            confirm_timeout=args["confirm_timeout"],
            lock_timeout=args["lock_timeout"],
            auto_rollback=args["auto_rollback"],
            activation_timeout=args["activation_timeout"],
            work_root=args["temp_path"],
            audit_keep=check_keep(args["audit_log_keep"]),
        )
        return Activator(
            self.shell(task_vars),
            args["profile"],
            self.fresh_shell(task_vars),
            safety,
            deployer=self.deployer(task_vars),
        )

    @staticmethod
    def deployer(task_vars: Dict[str, Any]) -> Deployer:
        """Who deploys, for the host's audit log: this controller's user, and the AWX job and user
        when AWX runs the play (the ``awx_*`` / ``tower_*`` extra variables it sets)."""

        def first(*names):
            values = [task_vars.get(n) for n in names if task_vars.get(n) not in (None, "")]
            return str(values[0]) if values else None

        return Deployer(
            by=controller_identity(),
            awx_job=first("awx_job_id", "tower_job_id"),
            awx_user=first("awx_user_name", "tower_user_name"),
            flake=first("nixos_flake"),
        )

    @staticmethod
    def transfer(args: Dict[str, Any]) -> closure_transfer.Transfer:
        return closure_transfer.Transfer(
            mode=args["mode"],
            cache_url=args["cache_url"],
            scheme=args["scheme"],
            check_sigs=args["check_sigs"],
            lock_timeout=args["copy_lock_timeout"],
            from_store=args["from_store"],
            stall_timeout=args["copy_stall_timeout"],
        )

    def nix_cli(self, args: Dict[str, Any]) -> NixCli:
        progress = self.progress()
        copies = FleetCopies(progress, self._task._uuid) if progress.on else None
        return NixCli(
            NixSettings(nix=args["nix_binary"], extra_args=tuple(args["nix_args"])),
            progress=progress,
            fleet_copies=copies,
        )

    def progress(self) -> Progress:
        """This task's live progress lines (module_utils._progress.progress_text; off with NIXFLEET_PROGRESS=0)."""
        if self._progress is None:
            self._progress = progress.for_action(self._display.verbosity)
        return self._progress

    def _control_path(self) -> Optional[str]:
        """The socket of the ssh master connection Ansible keeps to this host (ControlPersist), once
        the connection has run a command: Nix's ssh then reuses it instead of a new handshake."""
        conn = self._connection
        path, directory = getattr(conn, "control_path", None), getattr(conn, "control_path_dir", None)
        if not path or not directory:
            return None
        socket = path % {"directory": unfrackpath(directory)}
        return socket if os.path.exists(socket) and not any(c.isspace() for c in socket) else None

    def ssh_target(self, task_vars: Dict[str, Any]) -> SshTarget:
        """The host's ssh destination exactly as the Ansible connection uses it."""
        conn = self._connection

        def option(name):
            try:
                return conn.get_option(name)
            except KeyError:
                return None

        extra = []
        for name in ("ssh_args", "ssh_common_args", "ssh_extra_args"):
            value = option(name)
            if value:
                extra.append(value)
        if option("host_key_checking") is False:
            extra.append("-o StrictHostKeyChecking=no")
        master = self._control_path()
        if master:
            extra.append("-o ControlPath=%s" % master)
        return SshTarget.from_args_string(
            host=option("host") or self._play_context.remote_addr,
            args=" ".join(extra),
            user=option("remote_user") or None,
            port=int(option("port")) if option("port") else None,
            private_key=option("private_key_file") or None,
            name=task_vars.get("inventory_hostname"),
        )
