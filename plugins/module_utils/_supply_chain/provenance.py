# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""Signed provenance of a deployed system: an in-toto Statement v1 with the SLSA Provenance v1
predicate, in a DSSE envelope.

The statement's subject is the system's store path with its NAR hash (hex SHA-256); the build
definition holds the flake (ref, revision, NAR hash), the attribute built, every locked input with
its NAR hash (``nix flake metadata --json``'s lock graph), the Nix version and where it was built
(controller, target or build host); the run details, who deployed it (controller user and host, the
AWX job and user under AWX), the action and host, and when the deploy started and ended. The
envelope (``payloadType`` ``application/vnd.in-toto+json``, the payload in base64, and signatures over
DSSE's pre-authentication encoding) is what ``plugin_utils._secrets.dsse_signing`` signs and checks. Each key is
named by the key id securesystemslib gives an Ed25519 key (SHA-256 of its canonical JSON form).

On the host the envelope is kept as ``PROVENANCE_DIR/<store path name>.dsse.json`` (root's, 0644),
beside the audit log, the newest ``keep`` kept (never the running or booted system's).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
import posixpath
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.audit_log import without_credentials
from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generations import BOOTED_SYSTEM, RUNNING_SYSTEM
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_argv import hash_argv
from ansible_collections.nixfleet.nixos.plugins.module_utils._reports.sbom import SbomError, sha256_hex
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command, raw, sequence
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.target_file import write_command

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
DOCS = "https://github.com/nixfleet/nixos/blob/main/docs/security.md"
BUILD_TYPE = DOCS + "#provenance-nixos-system-v1"
BUILDERS = ("controller", "target", "build-host")
PROVENANCE_DIR = "/nix/var/nixfleet/provenance"
SUFFIX = ".dsse.json"
READ_MARK = "provenance\tenvelope"


class ProvenanceError(ValueError):
    """A statement that cannot be made, or an envelope that is not one."""


def hex_digest(nar_hash: str) -> str:
    """A NAR hash as Nix prints it (``sha256:BASE32``, ``sha256-BASE64``, hex) → 64 hex digits."""
    try:
        return sha256_hex(nar_hash)
    except (SbomError, binascii.Error, ValueError) as exc:
        raise ProvenanceError("NAR hash %r: %s" % (nar_hash, exc))


@dataclass(frozen=True)
class Resource:
    """An in-toto ResourceDescriptor: a locked flake input (or the flake itself)."""

    name: str
    uri: str
    sha256: str = ""  # of its NAR
    git_commit: str = ""
    annotations: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {"name": self.name, "uri": self.uri}
        digest = {k: v for k, v in (("sha256", self.sha256), ("gitCommit", self.git_commit)) if v}
        if digest:
            data["digest"] = digest
        if self.annotations:
            data["annotations"] = dict(self.annotations)
        return data


def locked_uri(locked: Mapping[str, Any]) -> str:
    """A lock node's ``locked`` attributes as a flake ref (``github:o/r/REV``, ``git+URL?rev=REV``, ``path:P``)."""
    kind = locked.get("type")
    if kind in ("github", "gitlab", "sourcehut"):
        return "%s:%s/%s/%s" % (kind, locked.get("owner"), locked.get("repo"), locked.get("rev"))
    if kind in ("git", "hg", "mercurial"):
        rev = locked.get("rev")
        return "%s+%s%s" % ("git" if kind == "git" else "hg", locked.get("url"), "?rev=%s" % rev if rev else "")
    if kind == "path":
        return "path:%s" % locked.get("path")
    if kind in ("tarball", "file"):
        return str(locked.get("url"))
    return "%s:%s" % (kind, json.dumps({k: v for k, v in locked.items() if k != "narHash"}, sort_keys=True))


def flake_resources(flake: str, metadata: Mapping[str, Any]) -> List[Resource]:
    """The flake (first) and each locked input of its lock graph, from ``nix flake metadata --json``."""
    locked = metadata.get("locked") or {}
    resources = [
        Resource(
            "flake",
            without_credentials(metadata.get("url") or flake) or flake,
            hex_digest(locked["narHash"]) if locked.get("narHash") else "",
            str(metadata.get("revision") or locked.get("rev") or ""),
        )
    ]
    nodes = (metadata.get("locks") or {}).get("nodes") or {}
    root = (metadata.get("locks") or {}).get("root", "root")
    for name in sorted(nodes):
        node_locked = (nodes[name] or {}).get("locked")
        if name == root or not isinstance(node_locked, Mapping):
            continue
        annotations = {k: v for k, v in node_locked.items() if k not in ("narHash",) and isinstance(v, (str, int))}
        resources.append(
            Resource(
                name,
                without_credentials(locked_uri(node_locked)) or "",
                hex_digest(node_locked["narHash"]) if node_locked.get("narHash") else "",
                str(node_locked.get("rev") or ""),
                annotations,
            )
        )
    return resources


@dataclass(frozen=True)
class Deployment:
    """Everything a statement says about one deployed system."""

    host: str
    system: str
    nar_sha256: str
    flake: str
    attribute: str
    resources: Tuple[Resource, ...]
    nix_version: str
    builder: str
    builder_host: str
    action: str
    by: str
    started: float
    finished: float
    awx_job: Optional[str] = None
    awx_user: Optional[str] = None


def _time(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def statement(d: Deployment) -> Dict[str, Any]:
    """The in-toto Statement v1 (SLSA Provenance v1 predicate) of ``d``."""
    if d.builder not in BUILDERS:
        raise ProvenanceError("builder %r is not one of %s" % (d.builder, ", ".join(BUILDERS)))
    user, _at, controller = d.by.rpartition("@")
    deployment = {"host": d.host, "action": d.action, "controllerUser": user, "controllerHost": controller}
    if d.awx_job:
        deployment["awxJobId"] = d.awx_job
    if d.awx_user:
        deployment["awxUser"] = d.awx_user
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": d.system, "digest": {"sha256": d.nar_sha256}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {"flake": without_credentials(d.flake), "attribute": d.attribute},
                "internalParameters": {
                    "nixVersion": d.nix_version,
                    "builder": d.builder,
                    "builderHost": d.builder_host,
                },
                "resolvedDependencies": [r.to_dict() for r in d.resources],
            },
            "runDetails": {
                "builder": {"id": "%s#builder-%s" % (DOCS, d.builder), "version": {"nix": d.nix_version}},
                "metadata": {
                    "invocationId": "awx-job:%s" % d.awx_job
                    if d.awx_job
                    else "nixfleet:%s:%s:%d" % (d.by, d.host, int(d.started)),
                    "startedOn": _time(d.started),
                    "finishedOn": _time(d.finished),
                },
                "byproducts": [{"name": "deployment", "annotations": deployment}],
            },
        },
    }


def payload(document: Mapping[str, Any]) -> bytes:
    """The statement as the envelope carries it (UTF-8 JSON, keys sorted)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE v1's pre-authentication encoding: what a signature signs."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)


def envelope(body: bytes, signatures: List[Tuple[str, bytes]]) -> Dict[str, Any]:
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(body).decode("ascii"),
        "signatures": [{"keyid": keyid, "sig": base64.b64encode(sig).decode("ascii")} for keyid, sig in signatures],
    }


def opened(document: Any) -> Tuple[bytes, List[Tuple[str, bytes]]]:
    """An envelope's payload and its (key id, signature) pairs; a ``ProvenanceError`` if it is not a DSSE envelope."""
    try:
        if document.get("payloadType") != PAYLOAD_TYPE:
            raise ProvenanceError(
                "the envelope's payloadType is %r, not %s" % (document.get("payloadType"), PAYLOAD_TYPE)
            )
        body = base64.b64decode(document["payload"], validate=True)
        signatures = [
            (str(s.get("keyid") or ""), base64.b64decode(s["sig"], validate=True)) for s in document["signatures"]
        ]
    except (AttributeError, KeyError, TypeError, binascii.Error) as exc:
        raise ProvenanceError("not a DSSE envelope (%s)" % exc.__class__.__name__)
    return body, signatures


def key_id(public: bytes) -> str:
    """The id securesystemslib gives an Ed25519 public key (32 raw bytes): SHA-256 of its canonical JSON."""
    canonical = json.dumps(
        {"keytype": "ed25519", "keyval": {"public": public.hex()}, "scheme": "ed25519"},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def host_file(system: str, directory: str = PROVENANCE_DIR) -> str:
    return posixpath.join(directory, posixpath.basename(system.rstrip("/")) + SUFFIX)


def store_command(system: str, keep: int, directory: str = PROVENANCE_DIR) -> Command:
    """Install the envelope (standard input) for ``system``, then keep only the newest ``keep``
    envelopes (never the running or booted system's)."""
    prune = raw(
        "set +e; cd @{dir} || exit 0; r=$(readlink @{running} 2>/dev/null); b=$(readlink @{booted} 2>/dev/null); "
        "ls -1t -- *@{suffix} 2>/dev/null | tail -n +@{first} | while IFS= read -r f; do "
        'case "$f" in "${r##*/}"@{suffix}|"${b##*/}"@{suffix}) ;; *) rm -f -- "$f";; esac; done; exit 0',
        dir=directory,
        running=RUNNING_SYSTEM,
        booted=BOOTED_SYSTEM,
        suffix=SUFFIX,
        first=int(keep) + 1,
    )
    return sequence([write_command(host_file(system, directory), "root", "root", 0o644, 0o755), prune.group()])


def read_command(system: Optional[str], directory: str = PROVENANCE_DIR) -> Command:
    """The system (default: the running one), its NAR hash as the host's store has it, and its envelope."""
    if system:
        pick = raw("p=@{system}", system=system)
    else:
        pick = raw("p=$(readlink @{running} 2>/dev/null)", running=RUNNING_SYSTEM)
    show = raw(
        'printf \'system\\t%s\\n\' "$p"; [ -n "$p" ] || exit 0; '
        'printf \'nar_hash\\t%s\\n\' "$(@{hash} "$p" 2>/dev/null)"; '
        'f=@{dir}/"${p##*/}"@{suffix}; if [ -f "$f" ]; then printf \'provenance\\tenvelope\\n\'; cat "$f"; fi',
        dir=directory,
        suffix=SUFFIX,
        hash=hash_argv([]),
    )
    return sequence([pick, show])


@dataclass(frozen=True)
class HostRecord:
    system: Optional[str]
    nar_hash: Optional[str]
    envelope_text: Optional[str]


def parse_read(output: str) -> HostRecord:
    head, sep, text = output.partition(READ_MARK + "\n")
    values = {}
    for line in head.splitlines():
        key, _tab, value = line.partition("\t")
        values[key] = value.strip()
    return HostRecord(values.get("system") or None, values.get("nar_hash") or None, text if sep else None)


def statement_problem(body: bytes, system: str, nar_hash: Optional[str]) -> Optional[str]:
    """Why a (signature-checked) payload does not vouch for ``system`` with NAR hash ``nar_hash``
    (as the host's store has them), or None when it does."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return "the signed payload is not JSON"
    if (
        not isinstance(document, dict)
        or document.get("_type") != STATEMENT_TYPE
        or document.get("predicateType") != PREDICATE_TYPE
    ):
        return "the signed payload is not an in-toto Statement v1 with a SLSA Provenance v1 predicate"
    subjects = [s for s in document.get("subject") or [] if isinstance(s, dict) and s.get("name") == system]
    if not subjects:
        return "the statement is about another system, not %s" % system
    if not nar_hash:
        return "the host's store does not know %s" % system
    try:
        wanted = hex_digest(nar_hash)
    except ProvenanceError as exc:
        return str(exc)
    if (subjects[0].get("digest") or {}).get("sha256") != wanted:
        return "the statement's digest of %s is not the host's (its NAR hash is sha256 %s)" % (system, wanted)
    return None


def summary(body: bytes) -> Dict[str, Any]:
    """What a verified statement says, in brief: flake, revision, who deployed, the AWX job, when."""
    document = json.loads(body.decode("utf-8"))
    predicate = document.get("predicate") or {}
    definition, run = predicate.get("buildDefinition") or {}, predicate.get("runDetails") or {}
    flake: Dict[str, Any] = next(
        (r for r in definition.get("resolvedDependencies") or [] if r.get("name") == "flake"), {}
    )
    deployment: Dict[str, Any] = next(
        (b.get("annotations") or {} for b in run.get("byproducts") or [] if b.get("name") == "deployment"), {}
    )
    return {
        "flake": (definition.get("externalParameters") or {}).get("flake"),
        "rev": (flake.get("digest") or {}).get("gitCommit"),
        "builder": (definition.get("internalParameters") or {}).get("builder"),
        "deployed_by": "%s@%s" % (deployment.get("controllerUser"), deployment.get("controllerHost")),
        "awx_job": deployment.get("awxJobId"),
        "awx_user": deployment.get("awxUser"),
        "finished": (run.get("metadata") or {}).get("finishedOn"),
    }
