"""A real action plugin of the collection, run through Ansible's own ``ActionBase`` and the
collection's ``NixosAction.run`` (argument validation with the plugin's ARGSPEC and its defaults,
the NUL and target-path checks, NixError/ValueError to a failed result), with stand-ins only for
what a play gives it: the task (args, check mode, diff), the connection and the play context.

The target is ``ActionShell``: remote operations are answered by name (``OperationShell``, their
real parsers read the answers) and plain commands (``shell.run``/``shell.check``) by the first
needle found in the command's text. Each one is recorded, in order, with whether it ran privileged.
"""

import importlib
import uuid
from types import SimpleNamespace
from typing import Any, Callable, Dict, List, Optional, Union

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_argv import NixSettings
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix import process
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.process import CommandResult

from fake_shell import Answer, OperationShell
from fake_shell import said

__all__ = ["ACTIONS", "HOST", "ActionShell", "Connection", "make_action", "run_action", "said"]
ACTIONS = "ansible_collections.nixfleet.nixos.plugins.action.%s"
HOST = "web"


class ActionShell(OperationShell):
    """``answers``: operations by name; ``commands``: plain commands by a needle of their text (the
    first needle, in the dict's order, that the command holds answers it; its record's name is the
    needle). ``stdins`` holds what each plain command was given on stdin; ``sensitive`` the needles
    of the commands sent as sensitive."""

    label = HOST

    def __init__(
        self, answers: Optional[Dict[str, Answer]] = None, commands: Optional[Dict[str, Answer]] = None
    ) -> None:
        super().__init__(dict(answers or {}))
        self.commands = dict(commands or {})
        self.texts: List[str] = []
        self.stdins: List[Optional[str]] = []
        self.sensitive: List[str] = []

    def _execute(self, command: Command, stdin: Optional[str], sensitive: bool, privileged: bool) -> CommandResult:
        for needle, answer in self.commands.items():
            if needle in command.text:
                self.performed.append((needle, privileged))
                self.texts.append(command.text)
                self.stdins.append(stdin)
                if sensitive:
                    self.sensitive.append(needle)
                if isinstance(answer, list):
                    return answer.pop(0) if len(answer) > 1 else answer[0]
                if callable(answer):
                    return answer(command)
                return answer
        raise AssertionError("unexpected command: %s" % command.text)


class Connection:
    """What ``ActionBase.run`` and ``NixosAction`` read of a connection: a shell whose temporary
    directory is set (nothing is made on the target), its transport and its options (``options``;
    an option not given is unknown to it, as ``get_option`` of a real plugin says with KeyError)."""

    def __init__(self, transport: str = "unit", **options: Any) -> None:
        self._shell = SimpleNamespace(tmpdir="/nonexistent/nixfleet-unit")
        self.transport = transport
        self.options = options

    def get_option(self, name: str) -> Any:
        return self.options[name]


def make_action(
    name: Union[str, type],
    args: Optional[Dict[str, Any]] = None,
    shell: Optional[ActionShell] = None,
    check_mode: bool = False,
    diff: bool = False,
    nix: Optional[Callable[[Dict[str, Any]], Any]] = None,
    connection: Optional[Connection] = None,
) -> Any:
    """An ``ActionModule`` of ``plugins/action/<name>.py`` (or ``name``, a ``NixosAction`` class) whose
    ``shell()`` is ``shell`` (no fresh ssh connections) and, when ``nix`` is given, whose
    ``nix_cli(args)`` is ``nix(args)``."""
    base = importlib.import_module(ACTIONS % name).ActionModule if isinstance(name, str) else name

    class UnderTest(base):  # type: ignore[misc, valid-type]
        def shell(self, task_vars):
            if shell is None:
                raise AssertionError("%s reached for the target" % name)
            return shell

        def fresh_shell(self, task_vars):
            return None

        def nix_cli(self, options):
            return nix(options) if nix is not None else super().nix_cli(options)

    # _uuid: a Task's own id (the fleet-wide progress counters of a task are keyed by it)
    task = SimpleNamespace(
        args=dict(args or {}),
        check_mode=check_mode,
        diff=diff,
        async_val=0,
        action="nixfleet.nixos.%s" % getattr(name, "__name__", name),
        _uuid=uuid.uuid4().hex,
    )
    return UnderTest(task, connection or Connection(), SimpleNamespace(remote_addr=HOST), None, None, None)


def run_action(
    name: Union[str, type],
    args: Optional[Dict[str, Any]] = None,
    shell: Optional[ActionShell] = None,
    check_mode: bool = False,
    diff: bool = False,
    task_vars: Optional[Dict[str, Any]] = None,
    nix: Optional[Callable[[Dict[str, Any]], Any]] = None,
    connection: Optional[Connection] = None,
) -> Dict[str, Any]:
    """The result of running the action once as a task would (``inventory_hostname`` is ``web``)."""
    action = make_action(name, args, shell, check_mode, diff, nix, connection)
    return action.run(task_vars=dict({"inventory_hostname": HOST}, **(task_vars or {})))


class RecordingNix:
    """The real Nix CLI of an action's options (give it as ``run_action(..., nix=RecordingNix())``);
    ``calls`` holds the argv of each Nix process it ran."""

    def __init__(self) -> None:
        self.calls: List[List[str]] = []

    def __call__(self, options: Dict[str, Any]) -> NixCli:
        settings = NixSettings(nix=options["nix_binary"], extra_args=tuple(options["nix_args"]))
        return NixCli(settings, runner=self.run)

    def run(self, argv, **kwargs):
        self.calls.append(list(argv))
        return process.run(argv, **kwargs)

    def subcommands(self) -> List[str]:
        """The Nix subcommand (eval, build, ...) of each call, in order."""
        return [next(word for word in argv if word in ("eval", "build", "copy", "path-info")) for argv in self.calls]
