# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Every ``nix`` command line the collection runs, built in one place, and its output parsed.

In the spirit of community.general's CmdRunner: options are declared once in ``OPTIONS``
(name → how it is written on the command line); builders only say which options they use.
Only flags that Nix 2.8 understands are used (``--json`` rather than ``--print-out-paths``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

EXPERIMENTAL = ("--extra-experimental-features", "nix-command flakes")


def _flag(name: str) -> Callable[[Any], List[str]]:
    return lambda value: [name] if value else []


def _value(name: str) -> Callable[[Any], List[str]]:
    return lambda value: [name, str(value)] if value not in (None, "") else []


FRESH_NARINFO: Tuple[str, ...] = (
    "--option",
    "narinfo-cache-positive-ttl",
    "0",
    "--option",
    "narinfo-cache-negative-ttl",
    "0",
)

OPTIONS: Dict[str, Callable[[Any], List[str]]] = {
    "json": _flag("--json"),
    # Nix 2.33+ deprecates --json without a format for path-info (NixVersion.path_info_json_format).
    "json_format": _value("--json-format"),
    "no_link": _flag("--no-link"),
    "keep_going": _flag("--keep-going"),
    "recursive": _flag("--recursive"),
    "closure_size": _flag("--closure-size"),
    "no_check_sigs": _flag("--no-check-sigs"),
    "derivation": _flag("--derivation"),  # a .drv itself (and its closure), not its outputs
    # Nix sends the daemon protocol's "substitute" flag from builders-use-substitutes (seen with
    # 2.8 over ssh-ng): without it --substitute-on-destination silently substitutes nothing.
    "substitute_on_destination": lambda value: (
        ["--substitute-on-destination", "--option", "builders-use-substitutes", "true"] if value else []
    ),
    "impure": _flag("--impure"),
    "apply": _value("--apply"),
    "expr": _value("--expr"),
    "to": _value("--to"),
    "from_store": _value("--from"),
    "store": _value("--store"),
    "out_link": _value("--out-link"),
    "file": _value("--file"),
    "key_file": _value("--key-file"),
    "no_write_lock_file": _flag("--no-write-lock-file"),
    "log_format": _value("--log-format"),  # internal-json: one JSON event a line (nix_log reads them)
    # Ask a binary cache itself, not Nix's narinfo disk cache (which may remember a cache that was
    # since wiped or rebuilt at the same URL, for up to 30 days).
    "fresh_narinfo": lambda value: list(FRESH_NARINFO) if value else [],
    # Over ssh-ng the controller's overridden settings reach the target's daemon: with
    # --substitute-on-destination this names a cache the target substitutes from.
    "extra_substituters": lambda urls: ["--option", "extra-substituters", " ".join(urls)] if urls else [],
    "no_contents": _flag("--no-contents"),  # nix store verify: signatures only, no NAR hashing
    "sigs_needed": _value("--sigs-needed"),
    # nix store verify trusts exactly these keys (not the controller's nix.conf)
    "trusted_public_keys": lambda keys: ["--option", "trusted-public-keys", " ".join(keys)] if keys else [],
}


# Arguments that change a flake's inputs: ``builtins.getFlake`` (one evaluation of many attributes)
# cannot honour them, so evaluations then go through installables.
# (with how many arguments each takes after it)
INPUT_FLAG_ARITY = {
    "--override-input": 2,
    "--update-input": 1,
    "--recreate-lock-file": 0,
    "--inputs-from": 1,
    "--reference-lock-file": 1,
    "--override-flake": 2,
}
INPUT_FLAGS = tuple(INPUT_FLAG_ARITY)


@dataclass(frozen=True)
class NixSettings:
    """How to call nix: the binary and arguments every call gets (e.g. ``--override-input``)."""

    nix: str = "nix"
    extra_args: Tuple[str, ...] = ()

    @property
    def changes_inputs(self) -> bool:
        """The extra arguments override the flake's inputs (see ``INPUT_FLAGS``)."""
        return any(arg in INPUT_FLAGS for arg in self.extra_args)


def nix_argv(
    settings: NixSettings, subcommand: Sequence[str], positional: Sequence[str] = (), **options: Any
) -> List[str]:
    """``nix <subcommand> --extra-experimental-features … <options> <extra args> <positional>``."""
    argv = [settings.nix] + list(subcommand) + list(EXPERIMENTAL)
    for name, value in options.items():
        if name not in OPTIONS:
            raise KeyError("unknown nix option %r" % name)
        argv.extend(OPTIONS[name](value))
    argv.extend(settings.extra_args)
    argv.extend(positional)
    return argv


def references_argv(path: str) -> List[str]:
    """``nix-store -q --references PATH`` (the one nix-store query the controller makes)."""
    return ["nix-store", "-q", "--references", path]


def graph_argv(paths: Sequence[str]) -> List[str]:
    """``nix-store --query --graph PATHS``: the reference graph of their closures as dot text (a
    ``.drv`` is the derivation itself on every Nix, unlike ``nix path-info`` before 2.15); the
    target's exposure scan runs the same (module_utils._supply_chain.exposure)."""
    return ["nix-store", "--query", "--graph"] + list(paths)


def hash_argv(paths: Sequence[str]) -> List[str]:
    """``nix-store --query --hash PATHS``: each path's NAR hash (``sha256:BASE32``), on every Nix."""
    return ["nix-store", "--query", "--hash"] + list(paths)


def version_argv(settings: NixSettings) -> List[str]:
    return [settings.nix, "--version"]


def eval_json_argv(settings: NixSettings, installable: str, apply: Optional[str] = None) -> List[str]:
    return nix_argv(settings, ["eval"], [installable], json=True, apply=apply)


def eval_expr_argv(settings: NixSettings, expr: str, impure: bool = True) -> List[str]:
    """``nix eval --json --impure --expr EXPR`` (``builtins.getFlake`` of an unlocked ref is impure)."""
    return nix_argv(settings, ["eval"], json=True, impure=impure, expr=expr)


def build_argv(settings: NixSettings, installables: Sequence[str], keep_going: bool = True) -> List[str]:
    """Build every installable in one invocation; ``--json`` lists each one's outputs."""
    return nix_argv(settings, ["build"], installables, json=True, no_link=True, keep_going=keep_going)


def build_derivations_argv(
    settings: NixSettings, outputs: Sequence[str], log_format: Optional[str] = None
) -> List[str]:
    """Build store derivations' outputs (``NixVersion.derivation_output``) in one invocation
    (``--keep-going``): nothing is evaluated again, and each result names its ``drvPath``. Flake input
    flags are left out (they mean nothing to store paths)."""
    plain = NixSettings(settings.nix, without_input_flags(settings.extra_args))
    return nix_argv(plain, ["build"], outputs, json=True, no_link=True, keep_going=True, log_format=log_format)


def without_input_flags(args: Sequence[str]) -> Tuple[str, ...]:
    """``args`` without the flags that change a flake's inputs (and their arguments)."""
    kept: List[str] = []
    skip = 0
    for arg in args:
        if skip:
            skip -= 1
        elif arg in INPUT_FLAG_ARITY:
            skip = INPUT_FLAG_ARITY[arg]
        else:
            kept.append(arg)
    return tuple(kept)


def build_file_argv(
    settings: NixSettings, file: str, attrs: Sequence[str], log_format: Optional[str] = None
) -> List[str]:
    """Build attributes of a Nix file (impure: it may use ``builtins.getFlake`` of unlocked refs)."""
    return nix_argv(settings, ["build"], attrs, json=True, no_link=True, impure=True, file=file, log_format=log_format)


def copy_argv(
    settings: NixSettings,
    paths: Sequence[str],
    to: Optional[str] = None,
    from_store: Optional[str] = None,
    substitute_on_destination: bool = False,
    no_check_sigs: bool = False,
    fresh_narinfo: bool = False,
    extra_substituters: Sequence[str] = (),
    derivation: bool = False,
    log_format: Optional[str] = None,
) -> List[str]:
    return nix_argv(
        settings,
        ["copy"],
        paths,
        to=to,
        from_store=from_store,
        substitute_on_destination=substitute_on_destination,
        no_check_sigs=no_check_sigs,
        fresh_narinfo=fresh_narinfo,
        extra_substituters=list(extra_substituters),
        derivation=derivation,
        log_format=log_format,
    )


def path_info_argv(
    settings: NixSettings,
    paths: Sequence[str],
    store: Optional[str] = None,
    recursive: bool = False,
    fresh_narinfo: bool = False,
    closure_size: bool = False,
    json_format: Optional[int] = None,
) -> List[str]:
    return nix_argv(
        settings,
        ["path-info"],
        paths,
        json=True,
        json_format=json_format,
        store=store,
        recursive=recursive,
        fresh_narinfo=fresh_narinfo,
        closure_size=closure_size,
    )


def verify_signatures_argv(
    settings: NixSettings, paths: Sequence[str], store: str, trusted_public_keys: Sequence[str]
) -> List[str]:
    """``nix store verify`` of the closures of ``paths`` in ``store``: every path signed by one of
    ``trusted_public_keys`` (contents not hashed); exit code 0 only when all are."""
    return nix_argv(
        settings,
        ["store", "verify"],
        paths,
        store=store,
        recursive=True,
        no_contents=True,
        sigs_needed=1,
        trusted_public_keys=list(trusted_public_keys),
        fresh_narinfo=True,
    )


def store_ls_argv(settings: NixSettings, path: str, store: str) -> List[str]:
    """``nix store ls --store STORE PATH`` (fails when ``path`` does not exist there)."""
    return nix_argv(settings, ["store", "ls"], [path], store=store)


def flake_metadata_argv(settings: NixSettings, ref: str) -> List[str]:
    """``nix flake metadata --json`` (with ``locks``, the lock graph), never writing a lock file."""
    return nix_argv(settings, ["flake", "metadata"], [ref], json=True, no_write_lock_file=True)


def sign_argv(settings: NixSettings, paths: Sequence[str], key_file: str, recursive: bool = True) -> List[str]:
    """``nix store sign --key-file KEY [--recursive] PATHS`` (adds signatures in the local store)."""
    return nix_argv(settings, ["store", "sign"], paths, key_file=key_file, recursive=recursive)


def diff_closures_argv(settings: NixSettings, before: str, after: str) -> List[str]:
    return nix_argv(settings, ["store", "diff-closures"], [before, after])


def derivation_show_argv(settings: NixSettings, drvs: Sequence[str], subcommand: Sequence[str]) -> List[str]:
    """Every derivation of the build graphs of ``drvs`` (``subcommand``: ``NixVersion.derivation_show_subcommand``)."""
    return nix_argv(settings, subcommand, drvs, recursive=True)


def parse_build_json(output: str) -> List[Dict[str, Any]]:
    """``nix build --json``: one ``{"drvPath", "outputs": {"out": path}}`` per installable."""
    data = json.loads(output or "[]")
    if not isinstance(data, list):
        raise ValueError("nix build --json printed %r, not a list" % (output[:200],))
    return data


def parse_path_info(output: str) -> Dict[str, Optional[Dict[str, Any]]]:
    """``nix path-info --json`` → ``{path: info or None when not valid}``.

    Nix < 2.19 and Lix print a list of objects with a ``path`` key (``"valid": false`` for
    missing paths); Nix 2.19+ (and ``--json-format 1``) an object keyed by path with ``null`` for
    missing ones; ``--json-format 2`` ``{"version", "storeDir", "info": {basename: info}}``.
    """
    data = json.loads(output or "[]")
    result: Dict[str, Optional[Dict[str, Any]]] = {}
    if isinstance(data, dict) and isinstance(data.get("info"), dict) and "storeDir" in data:
        for base, info in data["info"].items():
            result["%s/%s" % (data["storeDir"].rstrip("/"), base)] = info if info else None
        return result
    if isinstance(data, dict):
        for path, info in data.items():
            result[path] = info if info else None
        return result
    if not isinstance(data, list):
        raise ValueError("nix path-info --json printed %r" % (output[:200],))
    for info in data:
        path = info.get("path")
        result[path] = None if info.get("valid") is False else info
    return result
