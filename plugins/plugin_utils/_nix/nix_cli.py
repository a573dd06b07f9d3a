# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""The Nix CLI on the controller: eval, build, copy, path-info, diff-closures."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix import nix_argv as cmd
from ansible_collections.nixfleet.nixos.plugins.module_utils._progress import progress_text
from ansible_collections.nixfleet.nixos.plugins.module_utils._progress.nix_log import LOG_FORMAT
from ansible_collections.nixfleet.nixos.plugins.module_utils._reports.derivation_sources import (
    Derivation,
    parse_derivations,
)
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError, nix_too_old
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_version import NixVersion
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._transfer import copy_watch
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix import nix_version_cache
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.process import CommandResult, check, run
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._progress.fleet_copies import FleetCopies
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._progress.live_progress import LiveLog, Render
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._progress.progress import OFF, Progress


class NixCli:
    """Runs ``nix`` with one set of settings (binary, extra args, environment)."""

    def __init__(
        self,
        settings: Optional[cmd.NixSettings] = None,
        env: Optional[Mapping[str, str]] = None,
        runner=run,
        watcher=copy_watch.run,
        progress: Progress = OFF,
        fleet_copies: Optional[FleetCopies] = None,
    ) -> None:
        self.settings = settings or cmd.NixSettings()
        self.progress = progress  # live lines of builds and copies (off unless an action plugin sets it)
        self.fleet_copies = fleet_copies  # the task's copies to many hosts, one line for all
        self.env = dict(env or {})
        self._run = runner
        self._watch = watcher
        self._version: Optional[NixVersion] = None

    def _call(
        self, argv: List[str], what: str, host: Optional[str] = None, env: Optional[Mapping[str, str]] = None
    ) -> CommandResult:
        merged = dict(self.env)
        merged.update(env or {})
        return self._checked(self._run(argv, env=merged), what, host)

    def _call_logged(self, argv: List[str], what: str, render: Render) -> CommandResult:
        """Run a nix command with ``--log-format internal-json``, its progress shown while it runs
        (``render``: its line) and a failed build as it fails; its result's stderr is Nix's usual text."""
        with LiveLog(self.progress, render) as live:
            result = self._run(argv, env=self.env, on_line=live.feed)
        return self._checked(replace(result, stderr=live.log.stderr), what)

    def _checked(self, result: CommandResult, what: str, host: Optional[str] = None) -> CommandResult:
        """``result`` if it succeeded; else its NixError (one saying the Nix is too old, when it is)."""
        try:
            return check(result, what, host)
        except NixError as exc:
            too_old = nix_too_old(exc, str(self.version())) if "--version" not in result.argv else None
            if too_old:
                raise too_old
            raise

    def version(self) -> NixVersion:
        """The Nix in use (cached); fails clearly when it cannot use flakes."""
        if self._version is None:
            out = nix_version_cache.lookup(self.settings.nix)
            if out is None:
                out = self._call(cmd.version_argv(self.settings), "nix --version").stdout
                nix_version_cache.remember(self.settings.nix, out)
            self._version = NixVersion.parse(out)
            if not self._version.supports_flakes:
                raise NixError("%s is too old: flakes need Nix 2.4 or newer" % self._version)
        return self._version

    def eval_json(self, installable: str, apply: Optional[str] = None) -> Any:
        out = self._call(cmd.eval_json_argv(self.settings, installable, apply), "nix eval %s" % installable).stdout
        return json.loads(out)

    def eval_expr_json(self, expr: str, what: str = "nix eval") -> Any:
        return self.eval_expr_measured(expr, what)[0]

    def eval_expr_measured(self, expr: str, what: str = "nix eval") -> Tuple[Any, CommandResult]:
        """The expression's value, and the process that computed it (its peak memory, its CPU)."""
        result = self._call(cmd.eval_expr_argv(self.settings, expr), what)
        return json.loads(result.stdout), result

    def build(self, installables: Sequence[str]) -> List[Dict[str, Any]]:
        """Build all ``installables`` in one ``nix build``; one result per installable, **not** in their
        order (Nix sorts them): match results by ``drvPath`` (see ``build_derivations``)."""
        argv = cmd.build_argv(self.settings, installables)
        return cmd.parse_build_json(self._call(argv, "nix build").stdout)

    def build_derivations(self, drvs: Sequence[str]) -> Dict[str, str]:
        """Build the ``out`` of every store derivation in one ``nix build --keep-going``:
        ``{drvPath: out path}``."""
        version = self.version()
        argv = cmd.build_derivations_argv(
            self.settings, [version.derivation_output(d) for d in drvs], log_format=LOG_FORMAT
        )
        built = self._call_logged(argv, "nix build", progress_text.building)
        return {r["drvPath"]: r["outputs"]["out"] for r in cmd.parse_build_json(built.stdout)}

    def build_file(self, file: str, attrs: Sequence[str]) -> List[Dict[str, Any]]:
        """Build ``attrs`` of the Nix file ``file`` in one ``nix build``; one result per attribute."""
        argv = cmd.build_file_argv(self.settings, file, attrs, log_format=LOG_FORMAT)
        return cmd.parse_build_json(self._call_logged(argv, "nix build", progress_text.building).stdout)

    def references(self, path: str) -> List[str]:
        """The references of a path in the controller's store."""
        return self._call(cmd.references_argv(path), "nix-store -q --references").stdout.split()

    def graph(self, paths: Sequence[str]) -> str:
        """The reference graph of the closures of ``paths`` in the controller's store (dot text, see
        module_utils._supply_chain.closure_graph.parse_dot)."""
        return self._call(cmd.graph_argv(paths), "nix-store --query --graph").stdout

    def copy(
        self,
        paths: Sequence[str],
        to: str,
        env: Optional[Mapping[str, str]] = None,
        host: Optional[str] = None,
        substitute_on_destination: bool = False,
        no_check_sigs: bool = False,
        fresh_narinfo: bool = False,
        extra_substituters: Sequence[str] = (),
        derivation: bool = False,
        from_store: Optional[str] = None,
        stall_timeout: int = 0,
        destination: Optional[str] = None,
        phase: progress_text.Phase = progress_text.Phase.COPYING,
    ) -> CommandResult:
        """``nix copy``, ended when it makes no progress for ``stall_timeout`` seconds (0: never),
        then ``copy_watch.CopyStalled`` says how far it got. Its stderr is Nix's usual text. Its
        progress names ``destination`` (a host: its own line only with -v; with ``fleet_copies``, the
        task's line sums every host's copy; default: the store URL without its query)."""
        argv = cmd.copy_argv(
            self.settings,
            paths,
            to=to,
            from_store=from_store,
            substitute_on_destination=substitute_on_destination,
            no_check_sigs=no_check_sigs,
            fresh_narinfo=fresh_narinfo,
            extra_substituters=extra_substituters,
            derivation=derivation,
            log_format=LOG_FORMAT,
        )
        merged = dict(self.env)
        merged.update(env or {})
        # Messages name the store without its query (a remote program, a key file, ...).
        what = "nix copy to %s" % to.split("?", 1)[0]
        fleet = self.fleet_copies if destination else None
        with LiveLog(
            self.progress,
            lambda log, elapsed: progress_text.copying(
                destination or progress_text.store_name(to), log, elapsed, phase
            ),
            per_host=fleet is not None,
            on_tick=(lambda log, finished: fleet.update(destination or "", log, finished)) if fleet else None,
        ) as live:
            watched = self._watch(argv, env=merged, stall_timeout=stall_timeout, log=live.log, feed=live.feed)
        if watched.stalled:
            raise copy_watch.CopyStalled(what, watched, stall_timeout, host)
        return check(watched.result, what, host)

    def flake_metadata(self, ref: str) -> Dict[str, Any]:
        return json.loads(self._call(cmd.flake_metadata_argv(self.settings, ref), "nix flake metadata %s" % ref).stdout)

    def sign(self, paths: Sequence[str], key_file: str) -> CommandResult:
        """Sign ``paths`` and their closures in the local store with ``key_file``."""
        return self._call(cmd.sign_argv(self.settings, paths, key_file), "nix store sign")

    def path_info(
        self,
        paths: Sequence[str],
        store: Optional[str] = None,
        recursive: bool = False,
        env: Optional[Mapping[str, str]] = None,
        host: Optional[str] = None,
        fresh_narinfo: bool = False,
        closure_size: bool = False,
    ) -> Dict[str, Optional[Dict[str, Any]]]:
        """``{path: info or None}`` for ``paths`` in ``store`` (default: the local store); with
        ``closure_size``, each info has ``closureSize``.

        Missing paths make Nix exit non-zero on some versions; the JSON still says which.
        """
        argv = cmd.path_info_argv(
            self.settings,
            paths,
            store=store,
            recursive=recursive,
            fresh_narinfo=fresh_narinfo,
            closure_size=closure_size,
            json_format=self.version().path_info_json_format,
        )
        merged = dict(self.env)
        merged.update(env or {})
        result = self._run(argv, env=merged)
        if not result.ok and not result.stdout.strip():
            check(result, "nix path-info", host)
        return cmd.parse_path_info(result.stdout)

    def missing_paths(
        self,
        paths: Sequence[str],
        store: str,
        env: Optional[Mapping[str, str]] = None,
        host: Optional[str] = None,
        fresh_narinfo: bool = False,
    ) -> List[str]:
        """Which of ``paths`` are not valid in ``store``."""
        info = self.path_info(paths, store=store, env=env, host=host, fresh_narinfo=fresh_narinfo)
        return [p for p in paths if info.get(p) is None]

    def verify_signatures(self, paths: Sequence[str], store: str, trusted_public_keys: Sequence[str]) -> CommandResult:
        """Are the closures of ``paths`` in ``store`` signed by a trusted key? (exit code 0: yes)"""
        return self._run(cmd.verify_signatures_argv(self.settings, paths, store, trusted_public_keys), env=self.env)

    def store_has(self, path: str, store: str) -> bool:
        """Does ``path`` (a file inside a store path) exist in ``store``?"""
        return self._run(cmd.store_ls_argv(self.settings, path, store), env=self.env).ok

    def derivations(self, drvs: Sequence[str]) -> Dict[str, Derivation]:
        """Every derivation of the build graphs of ``drvs`` in the local store."""
        argv = cmd.derivation_show_argv(self.settings, drvs, self.version().derivation_show_subcommand)
        return parse_derivations(self._call(argv, "nix derivation show").stdout)

    def diff_closures(self, before: str, after: str) -> str:
        return self._call(cmd.diff_closures_argv(self.settings, before, after), "nix store diff-closures").stdout
