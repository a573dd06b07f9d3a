# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""What deploy-rs and colmena settings in a flake mean here: host vars the deploy role honours, or
a warning naming the host and the setting (never silently ignored).

Each setting is declared once, in ``DEPLOY_RS`` or ``COLMENA``, with what it becomes. The
inventory's Nix expression reads the raw values (deploy-rs with its inheritance, ``deploy`` →
node → profile, colmena from ``config.deployment``); ``deploy_rs_vars`` and ``colmena_vars`` turn
them into host vars. A value of the wrong type is an error for that host (the deploy fails it,
naming the setting), not a guess. Where a host lives (``hostname``, ``sshUser``, ``targetHost`` …)
is read by ``flake_inventory`` itself.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import argv

# Ansible's own sudo flags (the sudo become plugin's default become_flags).
ANSIBLE_SUDO_FLAGS = ("-H", "-S", "-n")
COLMENA_ESCALATION = ["sudo", "-H", "--"]
DEPLOY_RS_SUDO = "sudo -u"
KEYS_VAR = "nixos_colmena_keys"  # the names of a host's colmena deployment.keys


class SettingError(ValueError):
    """A setting whose value cannot mean anything (wrong type, a relative path …)."""


@dataclass
class Mapped:
    """What a host's tool settings became."""

    host_vars: Dict[str, Any] = field(default_factory=dict)
    ssh_opts: List[str] = field(default_factory=list)  # colmena sshOptions, for every ssh to the host
    warnings: List[str] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise SettingError("must be true or false, not %r" % (value,))
    return value


def _seconds(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise SettingError("must be a positive number of seconds, not %r" % (value,))
    return value


def _absolute_path(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/") or ".." in value.split("/") or "\n" in value:
        raise SettingError("must be an absolute path without '..', not %r" % (value,))
    return posixpath.normpath(value)


def _strings(value: Any) -> List[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SettingError("must be a list of strings, not %r" % (value,))
    return value


def _become(words: Sequence[str], setting: str) -> Dict[str, Any]:
    """Ansible's become settings for an escalation command (``sudo -u``, ``["sudo" "-H" "--"]``);
    only sudo is mapped: anything else raises (the caller warns)."""
    if not words or posixpath.basename(words[0]) != "sudo":
        raise LookupError(
            "%s = %r is not mapped: only sudo is; set ansible_become_method (and its flags) for "
            "this host yourself" % (setting, " ".join(words))
        )
    become: Dict[str, Any] = {}
    if words[0] != "sudo":
        become["ansible_become_exe"] = words[0]
    extra = [w for w in words[1:] if w not in ("--", "-u") and w not in ANSIBLE_SUDO_FLAGS]
    if extra:
        become["ansible_become_flags"] = argv(*(list(ANSIBLE_SUDO_FLAGS) + extra)).text
    return become


# deploy-rs setting → (host var, conversion), or None where the setting is handled below.
Conversion = Callable[[Any], Any]
DEPLOY_RS: Dict[str, Optional[Tuple[str, Conversion]]] = {
    "magicRollback": ("nixos_deploy_magic_rollback", _bool),
    "autoRollback": ("nixos_deploy_auto_rollback", _bool),
    "confirmTimeout": ("nixos_deploy_confirm_timeout", _seconds),
    "activationTimeout": ("nixos_deploy_activation_timeout", _seconds),
    "fastConnection": ("nixos_deploy_copy_mode", lambda v: "push" if _bool(v) else "substitute"),
    "remoteBuild": ("nixos_deploy_build_on", lambda v: "target" if _bool(v) else "controller"),
    "tempPath": ("nixos_deploy_temp_path", _absolute_path),
    "sudo": None,
    "interactiveSudo": None,
}

COLMENA: Dict[str, Optional[Tuple[str, Conversion]]] = {
    "buildOnTarget": ("nixos_deploy_build_on", lambda v: "target" if _bool(v) else "controller"),
    "sshOptions": None,
    "privilegeEscalationCommand": None,
    "allowLocalDeployment": None,
    "replaceUnknownProfiles": None,
    "keys": None,
}


def _convert(table, settings: Dict[str, Any], tool: str, host: str, mapped: Mapped) -> None:
    for name, rule in table.items():
        if rule is None or settings.get(name) is None:
            continue
        var, conversion = rule
        try:
            mapped.host_vars[var] = conversion(settings[name])
        except SettingError as exc:
            mapped.errors.append("%s setting %s of host %s %s" % (tool, name, host, exc))


def deploy_rs_vars(host: str, settings: Dict[str, Any]) -> Mapped:
    """Host vars for a deploy-rs node's (inherited) settings."""
    mapped = Mapped()
    _convert(DEPLOY_RS, settings, "deploy-rs", host, mapped)
    sudo = settings.get("sudo")
    if sudo is not None and sudo != DEPLOY_RS_SUDO:
        if not isinstance(sudo, str):
            mapped.errors.append("deploy-rs setting sudo of host %s must be a command line, not %r" % (host, sudo))
        else:
            try:
                mapped.host_vars.update(_become(sudo.split(), "sudo"))
            except LookupError as exc:
                mapped.warnings.append("host %s: deploy-rs %s" % (host, exc))
    if settings.get("interactiveSudo") is True:
        mapped.warnings.append(
            "host %s: deploy-rs interactiveSudo = true has no host var: Ansible asks for the sudo password with "
            "--ask-become-pass (-K), AWX with a machine credential's privilege escalation password "
            "(or set ansible_become_password from a vault)" % host
        )
    return mapped


def colmena_vars(host: str, deployment: Dict[str, Any]) -> Mapped:
    """Host vars for a colmena ``deployment``: only values that differ from colmena's defaults matter."""
    mapped = Mapped()
    _convert(COLMENA, deployment, "colmena", host, mapped)
    options = deployment.get("sshOptions")
    if options:
        try:
            mapped.ssh_opts = _strings(options)
        except SettingError as exc:
            mapped.errors.append("colmena setting sshOptions of host %s %s" % (host, exc))
    escalation = deployment.get("privilegeEscalationCommand")
    if escalation is not None and escalation != COLMENA_ESCALATION:
        try:
            mapped.host_vars.update(_become(_strings(escalation), "privilegeEscalationCommand"))
        except SettingError as exc:
            mapped.errors.append("colmena setting privilegeEscalationCommand of host %s %s" % (host, exc))
        except LookupError as exc:
            mapped.warnings.append("host %s: colmena %s" % (host, exc))
    if deployment.get("allowLocalDeployment") is True:
        mapped.warnings.append(
            "host %s: colmena allowLocalDeployment = true has no meaning here (colmena apply-local): to deploy the "
            "machine the controller runs on, give that host ansible_connection: local" % host
        )
    if deployment.get("replaceUnknownProfiles") is False:
        mapped.warnings.append(
            "host %s: colmena replaceUnknownProfiles = false is not honoured: the deploy replaces whatever system "
            "runs (nixfleet.nixos.facts and verify.yml say who put it there)" % host
        )
    if deployment.get("keys"):
        # Names only: the deploy reads the keys themselves (nixfleet.nixos.flake_keys, no_log).
        mapped.host_vars[KEYS_VAR] = sorted(deployment["keys"])
    return mapped
