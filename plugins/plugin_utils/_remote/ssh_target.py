# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""One ssh destination, written the same way for ``ssh`` and for Nix (``NIX_SSHOPTS``).

A host's closures must travel over exactly the ssh configuration Ansible uses for it: same
user, port, key, known_hosts and extra options. This is the one place that turns those
settings into command lines.
"""

from __future__ import annotations

import functools
import shlex
import subprocess
from dataclasses import dataclass, replace
from urllib.parse import quote as url_quote
from typing import Dict, List, Optional, Sequence, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command, argv


# A fresh connection (magic rollback's confirmation) prefers the classic X25519 key exchange: it
# only proves that the new system accepts ssh and carries no secret, and OpenSSH 9's default
# post-quantum exchange (sntrup761) costs client and server about a tenth of a CPU second each,
# per host. "^" keeps every default algorithm as a fallback (OpenSSH 8.7+; checked first).
FRESH_KEX = ("-o", "KexAlgorithms=^curve25519-sha256")
# A fresh connection never uses (or becomes) a ControlMaster: ssh keeps the first value it reads for
# an option, so these must come before any ControlMaster/ControlPath of the Ansible configuration.
NO_MASTER = ("-o", "ControlMaster=no", "-o", "ControlPath=none")


@functools.lru_cache(maxsize=None)
def client_accepts(*options: str) -> bool:
    """Does the local ssh client accept these options (``ssh -G`` parses them, connects nowhere)?"""
    try:
        return (
            subprocess.run(
                ["ssh", "-G"] + list(options) + ["localhost"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=10,
                check=False,
            ).returncode
            == 0
        )
    except (OSError, subprocess.SubprocessError):
        return False


@dataclass(frozen=True)
class SshTarget:
    host: str
    user: Optional[str] = None
    port: Optional[int] = None
    private_key: Optional[str] = None
    known_hosts: Optional[str] = None
    extra_args: Tuple[str, ...] = ()
    name: Optional[str] = None  # the inventory name, for messages

    @classmethod
    def from_args_string(cls, host: str, args: str = "", **kwargs) -> "SshTarget":
        """Build from a shell-style string of extra ssh options (``ansible_ssh_common_args``)."""
        return cls(host=host, extra_args=tuple(shlex.split(args or "")), **kwargs)

    @property
    def label(self) -> str:
        return self.name or self.host

    @property
    def destination(self) -> str:
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s@%s" % (self.user, host) if self.user else host

    def options(self) -> List[str]:
        """ssh options (without the destination) shared by ssh and nix."""
        opts = ["-o", "BatchMode=yes"]
        if self.port:
            opts += ["-p", str(self.port)]
        if self.private_key:
            opts += ["-i", self.private_key, "-o", "IdentitiesOnly=yes"]
        if self.known_hosts:
            opts += ["-o", "UserKnownHostsFile=%s" % self.known_hosts]
        return opts + list(self.extra_args)

    def ssh_argv(self, command: Optional[Command] = None, fresh: bool = False) -> List[str]:
        """``ssh`` to this target (running ``command`` in its login shell); ``fresh`` forbids reusing
        a ControlMaster connection."""
        words = ["ssh"] + (fresh_options(self.extra_args) if fresh else [])
        words += self.options() + [self.destination]
        if command is not None:
            if not isinstance(command, Command):
                raise TypeError("a remote command is a remote_command.Command, not %r" % (command,))
            words += ["--", command.text]
        return words

    def nix_sshopts(self) -> str:
        """``NIX_SSHOPTS``: Nix splits it on whitespace, so no option may contain any."""
        opts = self.options()
        bad = [o for o in opts if not o or any(c.isspace() for c in o)]
        if bad:
            raise ValueError(
                "%s: ssh option %r contains whitespace, which NIX_SSHOPTS cannot carry" % (self.label, bad[0])
            )
        return " ".join(opts)

    def nix_env(self) -> Dict[str, str]:
        return {"NIX_SSHOPTS": self.nix_sshopts()}

    def store_url(self, scheme: str = "ssh-ng") -> str:
        """The Nix store URL of this target (``ssh-ng://user@host``)."""
        if scheme not in ("ssh", "ssh-ng"):
            raise ValueError("unsupported ssh store scheme %r" % scheme)
        return "%s://%s" % (scheme, self.destination)

    def without_master(self) -> "SshTarget":
        """The same target, never using (or becoming) a ControlMaster: for ssh options that another
        host's connection shares, as NIX_SSHOPTS does in a copy between two ssh stores. (ssh keeps
        the first value it reads, so ``NO_MASTER`` goes before the configured options.)"""
        return replace(self, extra_args=NO_MASTER + tuple(self.extra_args))

    def store_url_with_key(self, scheme: str = "ssh-ng") -> str:
        """``store_url`` that carries this target's own key (``?ssh-key=``), for a copy whose NIX_SSHOPTS
        are another host's."""
        url = self.store_url(scheme)
        return "%s?ssh-key=%s" % (url, url_quote(self.private_key, safe="/")) if self.private_key else url

    def describe(self) -> str:
        return argv(*self.ssh_argv()).text


def fresh_options(configured: Sequence[str]) -> List[str]:
    """The ssh options, to put first, of a fresh connection (see ``NO_MASTER`` and ``FRESH_KEX``);
    ``configured``: the options the user's configuration adds after them."""
    options = list(NO_MASTER)
    if not any("kexalgorithms" in o.lower() for o in configured) and client_accepts(*FRESH_KEX):
        options += list(FRESH_KEX)
    return options
