# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""What the inventory reads from a flake: one Nix expression for every host, and its parsing.

The expression reads only cheap metadata (never ``system.build.toplevel``): from each
``nixosConfigurations.<name>`` ``networking.hostName``/``fqdn``, ``nixpkgs.hostPlatform.system``
and colmena's ``deployment.*`` when that option exists; from deploy-rs ``deploy.nodes.<name>``
``hostname``/``sshUser``/``sshOpts``/``user`` (deploy-rs' inheritance: ``deploy`` → node → the
``system`` profile). Every read is
guarded (``or``, ``?``, ``tryEval``) so a missing option is not an error and a configuration
that throws is reported for that host only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.account_name import is_account_name
from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes import tool_settings
from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes.flake_ref import glob_to_regex

TOPLEVEL = "config.system.build.toplevel"

_METADATA_FUNCTION = r"""
deployRsSettings: colmenaSettings: patterns: names: outputs:
let
  wanted = name: (names == null || builtins.elem name names)
    && (patterns == [ ] || builtins.any (re: builtins.match re name != null) patterns);
  select = set: builtins.listToAttrs (map (name: { inherit name; value = set.${name}; })
    (builtins.filter wanted (builtins.attrNames set)));
  strict = v: let r = builtins.tryEval (builtins.deepSeq v v); in if r.success then r.value else null;
  ok = v: (builtins.tryEval (builtins.deepSeq v true)).success;
  configuration = c:
    let cfg = c.config; in
    if !(ok (builtins.isAttrs cfg)) then { error = true; } else {
      error = false;
      hostName = strict (cfg.networking.hostName or null);
      fqdn = strict (cfg.networking.fqdn or null);
      system = strict (cfg.nixpkgs.hostPlatform.system or cfg.nixpkgs.system or null);
      # sops-nix: where the host expects its age identity (paths as strings, never copied)
      sops = if !(cfg ? sops) then null else strict (let age = cfg.sops.age or { }; in {
        keyFile = if (age.keyFile or null) == null then null else toString age.keyFile;
        sshKeyPaths = map toString (age.sshKeyPaths or [ ]);
      });
      deployment = if !(cfg ? deployment) then null else strict (
        let d = cfg.deployment; in {
          targetHost = d.targetHost or null;
          targetPort = d.targetPort or null;
          targetUser = d.targetUser or null;
          tags = d.tags or [ ];
          # The keys' metadata only: their text is read by the deploy (no_log), never by the inventory;
          # a keyFile stays a string (toString: a path is not copied into the store).
          keys = builtins.attrNames (d.keys or { });
        } // builtins.intersectAttrs (builtins.listToAttrs (map (name: { inherit name; value = null; }) colmenaSettings)) d);
    };
  deploy = outputs.deploy or { };
  # deploy-rs' inheritance: a setting of the profile, else of the node, else of `deploy`.
  inherited = layers: builtins.listToAttrs (builtins.concatMap (name:
    let found = builtins.filter (layer: layer ? ${name}) layers; in
    if found == [ ] then [ ] else [ { inherit name; value = (builtins.head found).${name}; } ]) deployRsSettings);
  node = n: let profiles = n.profiles or { }; profile = profiles.system or { }; in strict {
    hostname = n.hostname or null;
    sshUser = profile.sshUser or n.sshUser or deploy.sshUser or null;
    sshOpts = profile.sshOpts or n.sshOpts or deploy.sshOpts or [ ];
    user = profile.user or n.user or deploy.user or null;
    profiles = builtins.attrNames profiles;
    profilesOrder = n.profilesOrder or deploy.profilesOrder or null;
    # profiles besides system: who activates each, and where it lives (deploy-rs' defaults are applied here)
    custom = builtins.mapAttrs (_: p: { user = p.user or n.user or deploy.user or null;
                                        profilePath = p.profilePath or null; })
      (builtins.removeAttrs profiles [ "system" ]);
    settings = inherited [ profile n deploy ];
  };
in
{
  configurations = builtins.mapAttrs (_: configuration) (select (outputs.nixosConfigurations or { }));
  # colmena's flake output (colmena.lib.makeHive): each node is an evaluated NixOS configuration
  hive = builtins.mapAttrs (_: configuration) (select ((outputs.colmenaHive or { }).nodes or { }));
  nodes = builtins.mapAttrs (_: node) (select (deploy.nodes or { }));
}
"""


def nix_string(value: str) -> str:
    """``value`` as a Nix string literal (no interpolation)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${")
    return '"%s"' % escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def _nix_list(values: Sequence[str]) -> str:
    return "[ %s ]" % " ".join(nix_string(v) for v in values)


def _metadata_settings() -> str:
    """The metadata function applied to the settings it reads: next it takes patterns, names, outputs."""
    return "(%s) %s %s" % (
        _METADATA_FUNCTION.strip(),
        _nix_list(sorted(tool_settings.DEPLOY_RS)),
        _nix_list([n for n in sorted(tool_settings.COLMENA) if n != "keys"]),
    )


def metadata_function(host_filter: Sequence[str] = (), names: Optional[Sequence[str]] = None) -> str:
    """A Nix function ``outputs: { configurations; hive; nodes; }`` reading every wanted host: those
    ``host_filter``'s globs match and, when given, only ``names``."""
    return "(%s %s %s)" % (
        _metadata_settings(),
        _nix_list([glob_to_regex(p) for p in host_filter]),
        "null" if names is None else _nix_list(names),
    )


# A flake's outputs as every evaluation of ours reads them: a raw `colmena` output (colmena 0.4, no
# `colmenaHive`) becomes `colmenaHive` through the flake's own colmena input's `lib.makeHive`, as the
# colmena CLI would evaluate it; without such an input it is left alone (the inventory warns).
FLAKE_VIEW = (
    "(flake: flake // (if flake ? colmena && !(flake ? colmenaHive) "
    "&& ((flake.inputs or { }).colmena.lib or { }) ? makeHive "
    "then { colmenaHive = flake.inputs.colmena.lib.makeHive flake.colmena; } else { }))"
)


def flake_view(ref: str) -> str:
    """The outputs of the flake ``ref`` as our evaluations read them (see :data:`FLAKE_VIEW`)."""
    return "(%s (builtins.getFlake %s))" % (FLAKE_VIEW, nix_string(ref))


RAW_COLMENA_READ, RAW_COLMENA_UNREAD = "read", "unread"
KINDS = ("configurations", "hive", "nodes")


def listing_expression(ref: str, host_filter: Sequence[str] = (), first: int = 0) -> str:
    """For ``nix eval --impure --expr``: the wanted hosts of each kind (``names``: configurations,
    hive, nodes), the fetched source (to lock the ref), whether a raw colmena output was read
    (``colmena``: read, unread or null) and ``first``: the metadata of the first ``first`` hosts by
    name (the inventory's first chunk, measured)."""
    patterns = _nix_list([glob_to_regex(p) for p in host_filter])
    return (
        "let raw = builtins.getFlake %(ref)s; flake = %(view)s raw; "
        "wanted = name: %(patterns)s == [ ] || builtins.any (re: builtins.match re name != null) %(patterns)s; "
        "kind = set: builtins.filter wanted (builtins.attrNames set); "
        "names = { configurations = kind (flake.nixosConfigurations or { }); "
        "hive = kind ((flake.colmenaHive or { }).nodes or { }); nodes = kind ((flake.deploy or { }).nodes or { }); }; "
        "all = builtins.attrNames (builtins.listToAttrs (map (name: { inherit name; value = null; }) "
        "(names.configurations ++ names.hive ++ names.nodes))); "
        "count = if builtins.length all < %(first)d then builtins.length all else %(first)d; "
        "in { inherit names; "
        "colmena = if raw ? colmena && !(raw ? colmenaHive) then (if flake ? colmenaHive then %(read)s else %(unread)s) "
        "else null; "
        "source = { rev = raw.rev or null; narHash = raw.narHash or null; storePath = raw.outPath or null; }; "
        "first = %(meta)s [ ] (builtins.genList (builtins.elemAt all) count) flake; }"
        % {
            "ref": nix_string(ref),
            "view": FLAKE_VIEW,
            "patterns": patterns,
            "first": first,
            "read": nix_string(RAW_COLMENA_READ),
            "unread": nix_string(RAW_COLMENA_UNREAD),
            "meta": _metadata_settings(),
        }
    )


def chunk_expression(ref: str, names: Sequence[str]) -> str:
    """For ``nix eval --impure --expr``: the metadata of the hosts ``names`` (one chunk)."""
    return "%s %s" % (metadata_function((), names), flake_view(ref))


def raw_colmena_warning(ref: str) -> str:
    return (
        "%s has a raw `colmena` output (colmena 0.4) and no `colmena` input whose lib.makeHive could read "
        "it, so its hosts are not in the inventory; add a colmena input and this line to the flake's "
        "outputs: colmenaHive = colmena.lib.makeHive self.colmena;" % ref
    )


UNADDRESSABLE = ('"', "\\", "${")


def attr_path(prefix: str, name: str) -> str:
    """``nixosConfigurations."web-01"``: the host name is always quoted, as Nix prints it.

    The same text is an attribute path in a Nix expression and in an installable (``flake#…``) on
    the command line, whose quoted segments know no escapes; so a name with a double quote, a
    backslash, ``${`` or a control character cannot be written for both and is refused (ValueError)."""
    bad = [t for t in UNADDRESSABLE if t in name] + (["a control character"] if any(ord(c) < 32 for c in name) else [])
    if bad or not name:
        raise ValueError(
            "the name %r cannot be used as a flake attribute on the nix command line (%s)"
            % (name, ", ".join(bad) or "it is empty")
        )
    return '%s."%s"' % (prefix, name)


@dataclass
class FlakeHost:
    """One inventory host and where its metadata came from."""

    name: str
    attr: str
    toplevel_attr: str
    system: Optional[str] = None
    host: Optional[str] = None
    user: Optional[str] = None
    port: Optional[int] = None
    tags: List[str] = field(default_factory=list)
    ssh_opts: List[str] = field(default_factory=list)
    become_user: Optional[str] = None  # activation runs as this user through become (sudo)
    source: str = "none"
    error: Optional[str] = None
    settings_vars: Dict[str, Any] = field(default_factory=dict)  # deploy-rs / colmena settings (tool_settings)
    settings_warnings: List[str] = field(default_factory=list)
    settings_error: Optional[str] = None  # a setting whose value means nothing: the deploy fails the host
    # deploy-rs profiles besides system, in deploy order: {name, attr, user, profile_path}
    deploy_rs_profiles: List[Dict[str, str]] = field(default_factory=list)
    # sops-nix's sops.age.keyFile / sshKeyPaths, when the configuration has sops-nix
    sops_age_key_file: Optional[str] = None
    sops_age_ssh_key_paths: Optional[List[str]] = None


def split_ssh_opts(opts: Sequence[str]):
    """Take the port out of deploy-rs ``sshOpts``: ``(port or None, the other options)``."""
    port = None
    rest: List[str] = []
    items = list(opts)
    i = 0
    while i < len(items):
        opt = str(items[i])
        if opt == "-p" and i + 1 < len(items):
            port, i = items[i + 1], i + 2
            continue
        if opt.startswith("-p") and opt[2:].isdigit():
            port = opt[2:]
        elif opt == "-o" and i + 1 < len(items) and str(items[i + 1]).lower().startswith("port="):
            port, i = str(items[i + 1]).split("=", 1)[1], i + 2
            continue
        elif opt.lower().startswith("-oport="):
            port = opt.split("=", 1)[1]
        else:
            rest.append(opt)
        i += 1
    return (int(port) if port is not None else None), rest


def _refused(name: str, exc: ValueError) -> FlakeHost:
    """A host whose name cannot be a flake attribute: listed with the error, never evaluated or built."""
    host = FlakeHost(name=name, attr="", toplevel_attr="")
    host.error = str(exc)
    return host


CONFIGURATIONS = "nixosConfigurations"
HIVE_NODES = "colmenaHive.nodes"  # colmena.lib.makeHive's evaluated nodes


def _from_configuration(name: str, info: Dict[str, Any], output: str = CONFIGURATIONS) -> FlakeHost:
    try:
        attr = attr_path(output, name)
    except ValueError as exc:
        return _refused(name, exc)
    host = FlakeHost(name=name, attr=attr, toplevel_attr="%s.%s" % (attr, TOPLEVEL))
    if info.get("error"):
        host.error = "the configuration does not evaluate"
        return host
    host.system = info.get("system")
    sops = info.get("sops")
    if isinstance(sops, dict):
        host.sops_age_key_file = sops.get("keyFile")
        host.sops_age_ssh_key_paths = [str(p) for p in sops.get("sshKeyPaths") or []]
    _apply_deployment(host, name, info.get("deployment"))
    if not host.host and (info.get("fqdn") or info.get("hostName")):
        host.host = info.get("fqdn") or info.get("hostName")
        if host.source == "none":
            host.source = "networking"
    return host


def _apply_deployment(host: FlakeHost, name: str, deployment: Optional[Dict[str, Any]]) -> None:
    """colmena's ``deployment.*`` (from the configuration itself, or from the hive's node of that name)."""
    if not deployment:
        return
    host.source = "colmena"
    host.host = deployment.get("targetHost")
    host.user = deployment.get("targetUser")
    port = deployment.get("targetPort")
    host.port = int(port) if port is not None else None
    host.tags = [str(t) for t in deployment.get("tags") or []]
    if host.user and host.user != "root":
        host.become_user = "root"  # colmena activates through sudo when targetUser is not root
    _apply_settings(host, tool_settings.colmena_vars(name, deployment))


def _apply_node(host: Optional[FlakeHost], name: str, node: Optional[Dict[str, Any]]) -> FlakeHost:
    if host is None:
        try:
            attr = attr_path("deploy.nodes", name)
        except ValueError as exc:
            return _refused(name, exc)
        host = FlakeHost(name=name, attr=attr, toplevel_attr="%s.profiles.system.path" % attr)
        if node is None:
            host.error = "the deploy-rs node does not evaluate"
            return host
        if "system" not in (node.get("profiles") or []):
            host.toplevel_attr = ""
    if node is None:
        return host
    port, rest = split_ssh_opts(node.get("sshOpts") or [])
    host.ssh_opts = host.ssh_opts + rest  # after colmena's sshOptions, when the host has both
    if host.source != "colmena":
        # deploy-rs beats networking.*, colmena beats deploy-rs.
        if node.get("hostname"):
            host.host = node["hostname"]
        # deploy-rs: the profile's user (default root) activates it, through sudo when sshUser differs;
        # without sshUser, ssh logs in as that user.
        profile_user = node.get("user")
        host.user = node.get("sshUser") or profile_user or host.user
        wanted = profile_user or "root"
        host.become_user = wanted if host.user and host.user != wanted else None
        host.port = port if port is not None else host.port
        host.source = "deploy-rs"
        _apply_settings(host, tool_settings.deploy_rs_vars(name, node.get("settings") or {}))
    try:
        host.deploy_rs_profiles = custom_profiles(name, node)
    except ValueError as exc:
        host.settings_error = "; ".join(filter(None, [host.settings_error, str(exc)]))
    return host


PER_USER_PROFILES = "/nix/var/nix/profiles/per-user"


def custom_profiles(name: str, node: Dict[str, Any]) -> List[Dict[str, str]]:
    """A deploy-rs node's profiles besides ``system``, in the order it deploys them: ``profilesOrder``
    first, then the others by name. Each: ``name``, ``attr`` (its ``path`` in the flake), ``user``
    (default root) and ``profile_path`` (``profilePath``, else deploy-rs'
    ``/nix/var/nix/profiles/per-user/USER/NAME``). ValueError for a name or path that cannot be used."""
    custom = node.get("custom") or {}
    order = [p for p in (node.get("profilesOrder") or []) if p in custom]
    order += sorted(p for p in custom if p not in order)
    found = []
    for profile in order:
        info = custom[profile] or {}
        user = info.get("user") or "root"
        if not is_account_name(user):
            raise ValueError("deploy-rs profile %r of host %s: user %r is not a user name" % (profile, name, user))
        path = info.get("profilePath") or "%s/%s/%s" % (PER_USER_PROFILES, user, profile)
        if not isinstance(path, str) or not path.startswith("/") or ".." in path.split("/") or "/" in profile:
            raise ValueError("deploy-rs profile %r of host %s: profile path %r cannot be used" % (profile, name, path))
        found.append(
            {
                "name": profile,
                "attr": "%s.profiles.%s.path" % (attr_path("deploy.nodes", name), nix_string(profile)),
                "user": user,
                "profile_path": path,
            }
        )
    return found


def _apply_settings(host: FlakeHost, mapped: tool_settings.Mapped) -> None:
    host.settings_vars.update(mapped.host_vars)
    host.settings_warnings.extend(mapped.warnings)
    if mapped.ssh_opts:
        port, rest = split_ssh_opts(mapped.ssh_opts)
        host.ssh_opts = host.ssh_opts + rest
        host.port = port if port is not None else host.port
    if mapped.errors:
        host.settings_error = "; ".join(mapped.errors)


def hosts_from_metadata(data: Dict[str, Any]) -> List[FlakeHost]:
    """Merge what the expression returned into hosts, in DESIGN.md's order of preference."""
    hosts: Dict[str, FlakeHost] = {}
    for name, info in sorted((data.get("configurations") or {}).items()):
        hosts[name] = _from_configuration(name, info or {"error": True})
    for name, info in sorted((data.get("hive") or {}).items()):
        if name not in hosts:
            hosts[name] = _from_configuration(name, info or {"error": True}, HIVE_NODES)
        elif hosts[name].source != "colmena" and not hosts[name].error and (info or {}).get("deployment"):
            # nixosConfigurations.<name> is what is built; where it lives is what its hive node says
            # (the configuration without colmena's module has no deployment options)
            fallback = hosts[name].host
            _apply_deployment(hosts[name], name, info["deployment"])
            hosts[name].host = hosts[name].host or fallback
    for name, node in sorted((data.get("nodes") or {}).items()):
        hosts[name] = _apply_node(hosts.get(name), name, node)
    return [hosts[name] for name in sorted(hosts)]
