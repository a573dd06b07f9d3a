# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to nixfleet.nixos: no stable API, it may change in any release; do not import it from
# other collections or your own plugins.
"""A Nix file binary cache served over HTTP by nginx: its files and the commands that run it.

The cache is a directory Nix writes as a ``file://`` store (``nix-cache-info``, ``*.narinfo``,
``nar/``). nginx serves it read-only to everyone and accepts uploads (HTTP ``PUT``, which is how
``nix copy --to http://…`` writes) only from ``upload_allow``. No signing key lives on the cache
host: paths arrive signed by the controller, and a cache host cannot forge signatures.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import List

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_operation import Operation
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote import own_processes
from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.remote_command import Command, argv, raw

STORE_DIR = "/nix/store"
UNIT = "nixfleet-binary-cache"


ACCOUNT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$")


def _plain(text: str) -> bool:
    """No whitespace, quotes, nginx or systemd syntax (``;{}``, ``%`` specifiers, ``$`` variables)."""
    return bool(text) and not any(c.isspace() or c in ";{}'\"%$\\" for c in text)


@dataclass(frozen=True)
class CacheServer:
    path: str = "/var/cache/nixfleet/binary-cache"
    state_dir: str = "/var/lib/nixfleet-binary-cache"
    config: str = "/etc/nixfleet/binary-cache-nginx.conf"
    address: str = "127.0.0.1"
    port: int = 8081
    user: str = "www-data"
    group: str = "www-data"
    priority: int = 40
    upload_allow: List[str] = field(default_factory=lambda: ["127.0.0.0/8"])
    nginx: str = "nginx"

    def validate(self) -> None:
        # Each error names the module option that holds the value.
        for cidr in self.upload_allow:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise ValueError("upload_allow: %s" % exc)
        try:
            ipaddress.ip_address(self.address)
        except ValueError as exc:
            raise ValueError("listen_address: %s" % exc)
        if not 0 < self.port < 65536:
            raise ValueError("port %d is out of range" % self.port)
        for option, path in (("path", self.path), ("state_dir", self.state_dir), ("config", self.config)):
            if not path.startswith("/") or not _plain(path):
                raise ValueError("%s %r must be an absolute path without spaces or nginx syntax" % (option, path))
        for what, name in (("user", self.user), ("group", self.group)):
            if not ACCOUNT.fullmatch(name):  # written into nginx.conf's `user` line
                raise ValueError("%s %r is not a user or group name (letters, digits, _ . -)" % (what, name))
        if (
            not _plain(self.nginx)
            or self.nginx.startswith("-")
            or not (self.nginx.startswith("/") or "/" not in self.nginx)
        ):
            # written into the systemd unit's ExecStart= and run as a command
            raise ValueError(
                "nginx %r must be a command name or an absolute path, without spaces, quotes, "
                "%% or nginx syntax" % self.nginx
            )

    @property
    def url(self) -> str:
        host = "[%s]" % self.address if ":" in self.address else self.address
        return "http://%s:%d" % (host, self.port)

    @property
    def pid_file(self) -> str:
        return "%s/nginx.pid" % self.state_dir

    def cache_info(self) -> str:
        return "StoreDir: %s\nWantMassQuery: 1\nPriority: %d\n" % (STORE_DIR, self.priority)

    def nginx_config(self) -> str:
        s = self.state_dir
        allow = "".join("        allow %s;\n" % cidr for cidr in self.upload_allow)
        listen = "[%s]" % self.address if ":" in self.address else self.address
        return (
            "# nginx for the Nix binary cache %(path)s (written by nixfleet.nixos.binary_cache)\n"
            "user %(user)s %(group)s;\n"
            "worker_processes 1;\n"
            "pid %(pid)s;\n"
            "error_log %(s)s/error.log;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            "  access_log %(s)s/access.log;\n"
            "  client_body_temp_path %(s)s/tmp/body;\n"
            "  proxy_temp_path %(s)s/tmp/proxy;\n"
            "  fastcgi_temp_path %(s)s/tmp/fastcgi;\n"
            "  uwsgi_temp_path %(s)s/tmp/uwsgi;\n"
            "  scgi_temp_path %(s)s/tmp/scgi;\n"
            "  client_max_body_size 0;\n"
            "  types { text/x-nix-narinfo narinfo; }\n"
            "  default_type application/octet-stream;\n"
            "  server {\n"
            "    listen %(listen)s:%(port)d;\n"
            "    root %(path)s;\n"
            "    location / {\n"
            "      dav_methods PUT;\n"
            "      create_full_put_path on;\n"
            "      dav_access user:rw group:r all:r;\n"
            "      limit_except GET HEAD {\n"
            "%(allow)s"
            "        deny all;\n"
            "      }\n"
            "    }\n"
            "  }\n"
            "}\n"
        ) % {
            "path": self.path,
            "user": self.user,
            "group": self.group,
            "pid": self.pid_file,
            "s": s,
            "listen": listen,
            "port": self.port,
            "allow": allow,
        }


def prepare_command(server: CacheServer) -> Command:
    """Create the cache and state directories (the cache owned by nginx's user, which writes uploads)."""
    tmp = ["%s/tmp/%s" % (server.state_dir, d) for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi")]
    return raw(
        "set -e; mkdir -p @{path} @{state} @{tmp} $(dirname @{conf}); chown @{owner} @{path}; "
        "chmod 0755 @{path}; chown -R @{owner} @{state_tmp}",
        path=server.path,
        state=server.state_dir,
        tmp=tmp,
        conf=server.config,
        owner="%s:%s" % (server.user, server.group),
        state_tmp=server.state_dir + "/tmp",
    )


def test_config_command(server: CacheServer, config_path: str) -> Command:
    return argv(server.nginx, "-t", "-q", "-c", config_path)


STATUS_MARK = "nixfleet-cache-status"


@dataclass(frozen=True)
class ServerStatus:
    nginx_installed: bool
    dirs_ready: bool
    how: str  # systemd (a unit runs it), running (nginx by itself) or stopped

    @property
    def needs_start(self) -> bool:
        return self.how == "stopped" or (self.how == "systemd" and not self.dirs_ready)


def status_command(server: CacheServer) -> Command:
    """One line: is nginx installed, are the cache's directories there, and how does its nginx run now."""
    # nginx by itself runs when its pid file names an nginx of this host (own_processes: one that sees
    # our state directory), not whatever process of a neighbour took that PID since.
    return raw(
        "@{ours}; printf '@{m} %s %s %s\\n' \"$(command -v @{nginx} >/dev/null && echo yes || echo no)\" "
        '"$([ -d @{body} ] && [ -d @{path} ] && echo yes || echo no)" '
        '"$(if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then echo systemd; '
        'elif [ -f @{pid} ] && p=$(cat @{pid}) && [ "$(cat /proc/$p/comm 2>/dev/null)" = nginx ] '
        '&& nf_ours "$p" @{state}; then echo running; else echo stopped; fi)"',
        m=raw(STATUS_MARK),
        nginx=server.nginx,
        body="%s/tmp/body" % server.state_dir,
        path=server.path,
        pid=server.pid_file,
        state=server.state_dir,
        ours=own_processes.function(),
    )


def parse_status(output: str) -> ServerStatus:
    for line in output.splitlines():
        words = line.split()
        if len(words) == 4 and words[0] == STATUS_MARK:
            return ServerStatus(words[1] == "yes", words[2] == "yes", words[3])
    raise ValueError("unexpected answer from the cache status probe: %r" % output[:100])


def server_status(server: CacheServer) -> Operation[ServerStatus]:
    return Operation(
        "cache status", status_command(server), lambda a: parse_status(a.stdout), what="looking at the cache's nginx"
    )


def systemd_unit(server: CacheServer) -> str:
    return (
        "[Unit]\nDescription=Nix binary cache %s (nixfleet.nixos.binary_cache)\nAfter=network.target\n\n"
        "[Service]\nType=forking\nPIDFile=%s\nExecStart=%s -c %s\nExecReload=%s -c %s -s reload\n\n"
        "[Install]\nWantedBy=multi-user.target\n"
    ) % (server.path, server.pid_file, server.nginx, server.config, server.nginx, server.config)


def start_command(server: CacheServer, how: str, reload: bool) -> Command:
    """Start (or reload) the cache's nginx: a systemd unit where systemd runs, else nginx by itself."""
    if how == "systemd":
        verb = "reload-or-restart" if reload else "restart"
        return (
            argv("systemctl", "daemon-reload")
            .and_then(argv("systemctl", "enable", "--now", UNIT))
            .and_then(argv("systemctl", verb, UNIT))
        )
    if reload:
        return argv(server.nginx, "-c", server.config, "-s", "reload")
    return argv(server.nginx, "-c", server.config)
