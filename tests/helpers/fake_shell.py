"""A target for orchestration tests: it answers each remote operation by its name with canned
output, and the operation's real parser reads that answer (the commands' own shell is run for real
in _transaction/test_command.py and test_deploy_script.py)."""

from typing import Callable, Dict, List, Tuple, Union

from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.process import CommandResult, check
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.remote_shell import RemoteShell

Answer = Union[CommandResult, Callable[[object], CommandResult], List[CommandResult]]


def said(rc: int = 0, stdout: str = "", stderr: str = "") -> CommandResult:
    return CommandResult(["fake"], rc, stdout, stderr)


class OperationShell(RemoteShell):
    """Answers operations by name: a result, a function of the operation, or a list of results
    given one after another (the last one repeats). Records ``(name, privileged)`` of each."""

    label = "web"

    def __init__(self, answers: Dict[str, Answer]) -> None:
        self.answers = answers
        self.performed: List[Tuple[str, bool]] = []

    def perform(self, operation):
        self.performed.append((operation.name, operation.privileged))
        if operation.name not in self.answers:
            raise AssertionError("unexpected operation %s: %s" % (operation.name, operation.command))
        answer = self.answers[operation.name]
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        elif callable(answer):
            answer = answer(operation)
        if operation.what is not None:  # as RemoteShell.perform: a non-zero exit fails
            check(answer, operation.what, self.label)
        return operation.parse(answer)

    def names(self) -> List[str]:
        return [name for name, _privileged in self.performed]

    def _execute(self, command, stdin, sensitive, privileged):
        raise AssertionError("a command outside an operation: %s" % command)
