# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Uploading a host's keys (``module_utils._secrets.deployment_keys``): their content is made on the
controller (``text``, a ``keyFile`` read, a ``keyCommand`` run without a shell), every key of the
host before anything is uploaded or switched, so a missing file or a failing command changes
nothing; then each key of a stage is compared with the file on the host (one sensitive probe) and
written atomically with its owner and mode only when it differs. Nothing here returns or logs a
key's content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Sequence

from ansible_collections.nixfleet.nixos.plugins.module_utils._secrets import deployment_keys as dk
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote import target_file as tf
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix import process
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote import remote_files
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.controller_files import read_text
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.remote_shell import RemoteShell

KEY_COMMAND_TIMEOUT = 300  # seconds a keyCommand may run


@dataclass(frozen=True)
class ReadyKey:
    """A key with its content, ready to upload."""

    spec: dk.KeySpec
    content: str


@dataclass
class StageResult:
    """What uploading one stage's keys did (or, in check mode, would do)."""

    changed: List[str] = field(default_factory=list)  # the paths written
    diffs: List[Dict[str, str]] = field(default_factory=list)


def content_of(host: str, key: dk.KeySpec) -> str:
    """The key's content, made on the controller; ``NixError`` naming host and key when it cannot be."""
    where = "key %r of host %s" % (key.attr, host)
    if key.source == "text":
        return key.value
    if key.source == "keyFile":
        try:
            return read_text(key.value, "%s: keyFile" % where)
        except NixError as exc:
            raise NixError("%s; nothing was uploaded or switched" % exc.message, host=host)
    made = process.run(key.value, timeout=KEY_COMMAND_TIMEOUT)
    if not made.ok:
        # stdout is left out: it may be part of the secret
        raise NixError(
            "%s: keyCommand failed; nothing was uploaded or switched" % where,
            command=key.value,
            rc=made.rc,
            stderr=made.stderr,
            host=host,
        )
    return made.stdout


def prepare(host: str, keys: Any) -> List[ReadyKey]:
    """Every key of ``host`` checked and its content made, before anything changes on the host."""
    try:
        specs = dk.parse_keys(host, keys)
    except dk.KeySpecError as exc:
        raise NixError("%s; nothing was uploaded or switched" % exc, host=host)
    return [ReadyKey(spec, content_of(host, spec)) for spec in specs]


def upload(shell: RemoteShell, keys: Sequence[ReadyKey], stage: dk.UploadAt, check_mode: bool) -> StageResult:
    """Make each key of ``stage`` be on the host as asked; only differing files are written."""
    result = StageResult()
    for key in (k for k in keys if k.spec.upload_at is stage):
        spec = key.spec
        uid, gid, current = shell.perform(tf.owner_probe(spec.user, spec.group, spec.path))
        if (uid is None or gid is None) and check_mode and stage is dk.UploadAt.POST_ACTIVATION:
            # the new system may bring the key's user or group: in check mode it is not active yet
            result.changed.append(spec.path)
            continue
        if uid is None or gid is None:
            option, name = ("user", spec.user) if uid is None else ("group", spec.group)
            raise NixError(
                "key %r: %s %r does not exist on the host (%s); nothing was written"
                % (spec.attr, option, name, stage.value),
                host=shell.label,
            )
        try:
            reason = dk.plan(current, spec, key.content, uid, gid)
        except dk.KeySpecError as exc:
            raise NixError(str(exc), host=shell.label)
        same = current.content == key.content
        after = tf.FileState("file", uid, gid, spec.mode, key.content)
        result.diffs.append(
            {
                "before_header": spec.path,
                "after_header": spec.path,
                "before": dk.describe(spec, current, "as on the host"),
                "after": dk.describe(spec, after, "as on the host" if same else "new"),
            }
        )
        if reason is None:
            continue
        result.changed.append(spec.path)
        if not check_mode:
            remote_files.install(
                shell, spec.path, key.content, spec.mode, spec.user, spec.group, dir_mode=0o750, sensitive=True
            )
    return result
