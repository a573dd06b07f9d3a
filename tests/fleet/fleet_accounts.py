"""A fleet host's non-root deploy user (see nsfleet.py): its account, password, sudo rule and home,
in files the host bind-mounts over the machine's, and whether Nix trusts it."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

ACCOUNT_FILES = ("etc/passwd", "etc/group", "etc/shadow", "etc/hosts", "etc/sudoers", "etc/sudoers.d")
DEPLOY_USER = "deploy"
DEPLOY_UID = 2001
SUDO_MODES = ("nopasswd", "password")


class AccountError(RuntimeError):
    """A deploy user that cannot be made as asked."""


@dataclasses.dataclass(frozen=True)
class DeployUser:
    """A host's non-root ssh user ``deploy``: ``sudo`` "nopasswd" (NOPASSWD: ALL) or "password"
    (sudo asks for the user's password); ``trusted``: listed in nix.conf's ``trusted-users``."""

    sudo: str = "nopasswd"
    trusted: bool = True

    @classmethod
    def parse(cls, spec: str) -> "DeployUser":
        """``nopasswd``, ``password``, optionally ``,untrusted`` (the CLI's form)."""
        words = spec.split(",")
        if words[0] not in SUDO_MODES or any(w != "untrusted" for w in words[1:]):
            raise AccountError("deploy user %r: want nopasswd or password, optionally ',untrusted'" % spec)
        return cls(sudo=words[0], trusted="untrusted" not in words[1:])


def trusted_users_line(trusted: bool) -> str:
    return "trusted-users = %s\n" % ("root %s" % DEPLOY_USER if trusted else "root")


def _password_hash(password: str) -> str:
    proc = subprocess.run(
        ["openssl", "passwd", "-6", "-stdin"],
        input=password,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        check=False,
    )
    if proc.returncode != 0:
        raise AccountError("openssl passwd failed: %s" % proc.stderr.strip())
    return proc.stdout.strip()


def _with_member(groups: str, group: str, user: str) -> str:
    """/etc/group text with ``user`` in ``group`` where it exists (Debian's nix-daemon socket is for nix-users)."""
    out = []
    for line in groups.splitlines():
        fields = line.split(":")
        if fields[0] == group and len(fields) == 4:
            fields[3] = ",".join([m for m in fields[3].split(",") if m] + [user])
        out.append(":".join(fields))
    return "\n".join(out) + "\n"


def _without_clashes(text: str, name: str, number: int, id_field: int) -> str:
    """An /etc/passwd, group or shadow text without the entries the host's own ``deploy`` would clash
    with: the machine's own ``deploy`` (a CI runner's, a developer's) and whatever holds its id."""
    kept = []
    for line in text.splitlines():
        fields = line.split(":")
        clash = fields[0] == name or (id_field and len(fields) > id_field and fields[id_field] == str(number))
        if not clash:
            kept.append(line)
    return "".join(line + "\n" for line in kept)


# The host's own /etc/sudoers: Debian's defaults, and no rule the machine's file may hold for a user
# named deploy (the host's rules are its sudoers.d).
SUDOERS = """Defaults\tenv_reset
Defaults\tmail_badpass
Defaults\tsecure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
Defaults\tuse_pty
root\tALL=(ALL:ALL) ALL
@includedir /etc/sudoers.d
"""


def _group_id(name: str, system: Path) -> int:
    for line in (system / "etc/group").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return int(fields[2])
    return 0


def prepare_accounts(
    root: Path, name: str, address: str, sudo: str, password: str, root_password: str, system: Path = Path("/")
) -> None:
    """Under the host's ``root``: the deploy user's account, sudo rules and home; root gets a password (for su).
    The other accounts are those of ``system`` (the machine's, or a systemd host's base root), less any
    ``deploy`` user or group of its own and whatever holds the deploy user's uid or gid."""
    etc = root / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    user, uid = DEPLOY_USER, DEPLOY_UID
    passwd = _without_clashes((system / "etc/passwd").read_text(), user, uid, 2)
    (etc / "passwd").write_text(passwd + "%s:x:%d:%d:nixfleet deploy user:/home/%s:/bin/sh\n" % (user, uid, uid, user))
    groups = _without_clashes((system / "etc/group").read_text(), user, uid, 2)
    (etc / "group").write_text(_with_member(groups, "nix-users", user) + "%s:x:%d:\n" % (user, uid))
    users = {line.split(":")[0] for line in passwd.splitlines()}
    shadow = [
        line
        for line in _without_clashes((system / "etc/shadow").read_text(), user, uid, 0).splitlines()
        if line.split(":")[0] in users and not line.startswith("root:")
    ]
    shadow.insert(0, "root:%s:19000:0:99999:7:::" % _password_hash(root_password))
    shadow.append("%s:%s:19000:0:99999:7:::" % (user, _password_hash(password)))
    (etc / "shadow").write_text("\n".join(shadow) + "\n")
    os.chown(str(etc / "shadow"), 0, _group_id("shadow", system))
    os.chmod(str(etc / "shadow"), 0o640)
    # sudo resolves the host's name; the machine's /etc/hosts does not know it.
    (etc / "hosts").write_text("127.0.0.1 localhost\n%s %s\n" % (address, name))
    sudoers = etc / "sudoers.d"
    sudoers.mkdir(mode=0o755, exist_ok=True)
    (etc / "sudoers").write_text(SUDOERS)
    os.chmod(str(etc / "sudoers"), 0o440)
    rule = "NOPASSWD: ALL" if sudo == "nopasswd" else "ALL"
    (sudoers / user).write_text("%s ALL=(ALL:ALL) %s\n" % (user, rule))
    os.chmod(str(sudoers / user), 0o440)
    home = root / "home" / user
    home.mkdir(parents=True, exist_ok=True)
    os.chown(str(home), uid, uid)
