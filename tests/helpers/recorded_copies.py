"""The real ``NixCli`` whose ``nix copy`` processes are not run but recorded and answered (tests of
what is copied where, and of what a failed copy's error becomes; real copies run in the fleet tests)."""

from typing import Dict, List, Mapping, Optional, Sequence

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_argv import NixSettings
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.process import CommandResult
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._transfer.copy_watch import WatchedCopy


class RecordedCopies:
    """``nix``: a NixCli whose copies append ``(argv, env)`` to ``copies`` and exit with ``rc`` and
    ``stderr`` (Nix's own text of the failure being tested)."""

    def __init__(self, rc: int = 0, stderr: str = "") -> None:
        self.rc, self.stderr = rc, stderr
        self.copies: List[Dict[str, object]] = []
        self.nix = NixCli(NixSettings(), runner=self._no_other_process, watcher=self._copy)

    def _copy(
        self, argv: Sequence[str], env: Optional[Mapping[str, str]] = None, stall_timeout: int = 0, log=None, feed=None
    ) -> WatchedCopy:
        self.copies.append({"argv": list(argv), "env": dict(env or {}), "stall_timeout": stall_timeout})
        return WatchedCopy(CommandResult(list(argv), self.rc, "", self.stderr))

    @staticmethod
    def _no_other_process(argv, **_kwargs):
        raise AssertionError("a Nix process other than nix copy: %s" % argv)

    def words(self, index: int = -1) -> List[str]:
        return list(self.copies[index]["argv"])  # type: ignore[call-overload]

    def destination(self, index: int = -1) -> str:
        """The store a copy went to (``--to``), without its query (the locking remote program)."""
        words = self.words(index)
        return words[words.index("--to") + 1].split("?", 1)[0]
