"""A temporary directory standing in for a host, where the transaction script (``deploy.sh``) runs
for real under ``sh``: stand-in commands in its ``bin/`` ahead of ``PATH``, which note their calls
in ``log``; a profile whose generation is read from its links."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any, Dict, Optional

from ansible_collections.nixfleet.nixos.plugins.module_utils._transaction import command as tr


class ScriptSandbox:
    def __init__(self, root: Path, profile: str, tools: Dict[str, str], **env: str) -> None:
        self.root = root
        self.profile = profile
        self.log = root / "log"
        self.log.write_text("")
        (root / "bin").mkdir()
        for name, text in tools.items():
            (root / "bin" / name).write_text(text)
            (root / "bin" / name).chmod(0o755)
        self.env = dict(os.environ, PATH="%s:%s" % (root / "bin", os.environ["PATH"]), LOG=str(self.log), **env)

    def generation(self) -> Optional[int]:
        """The profile's current generation (None: no profile yet)."""
        link = os.readlink(self.profile) if os.path.islink(self.profile) else None
        return int(link.rsplit("-", 2)[1]) if link else None

    def _options(self) -> Dict[str, Any]:
        return dict(
            env=self.env,
            cwd=str(self.root),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            universal_newlines=True,
        )

    def run(self, text: str, timeout: int = 60) -> subprocess.CompletedProcess:
        """Shell ``text`` run in the sandbox, its output captured."""
        return subprocess.run(["sh", "-c", text], timeout=timeout, check=False, **self._options())

    def start(self, text: str) -> subprocess.Popen:
        """Shell ``text`` started in the sandbox, not waited for."""
        return subprocess.Popen(["sh", "-c", text], **self._options())

    def launch(self, t: tr.Transaction):
        """The transaction launched without systemd: (the process, its launch output split)."""
        proc = self.run(tr.launch_command(t, systemd=False, unit="u").text + " && sleep 0")
        return proc, tr.split_launch_output(proc.stdout)

    def confirm(self, t: tr.Transaction) -> subprocess.CompletedProcess:
        """Magic rollback's confirmation of ``t`` (waiting up to 5 s for the script's verdict)."""
        return self.run(tr.confirm_command(t, wait=5).text, timeout=30)
