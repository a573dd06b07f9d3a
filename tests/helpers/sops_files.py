"""Files in sops' format, encrypted with the real ``age`` (sops itself is not packaged in Debian 12).

A sops file's ``sops.age`` lists, per recipient, ``enc``: an armored age file whose plaintext is
the file's 32-byte data key. The values here are placeholders (``ENC[…]``); what the tests prove
is whether a host's identity unwraps the data key, which is what sops does first.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterable, List, Optional

import yaml


def age_keygen(path: Path) -> str:
    """A fresh age identity file at ``path``; returns its recipient (from ``age-keygen -y``)."""
    subprocess.run(["age-keygen", "-o", str(path)], check=True, stderr=subprocess.DEVNULL)
    return subprocess.run(
        ["age-keygen", "-y", str(path)], check=True, stdout=subprocess.PIPE, universal_newlines=True
    ).stdout.strip()


def age_encrypt(data: bytes, recipient: str) -> str:
    return subprocess.run(
        ["age", "-a", "-r", recipient], input=data, stdout=subprocess.PIPE, check=True
    ).stdout.decode()


def write_sops_file(path: Path, recipients: List[str], data_key: Optional[bytes] = None, fmt: str = "yaml") -> bytes:
    """A sops-format file whose data key is sealed to each recipient; returns the data key."""
    data_key = data_key if data_key is not None else os.urandom(32)
    document = {
        "db_password": "ENC[AES256_GCM,data:placeholder,type:str]",
        "sops": {
            "age": [{"recipient": r, "enc": age_encrypt(data_key, r)} for r in recipients],
            "lastmodified": "2026-11-22T00:00:00Z",
            "mac": "ENC[AES256_GCM,data:placeholder,type:str]",
            "version": "3.9.0",
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        path.write_text(json.dumps(document, indent=2))
    else:
        path.write_text(yaml.safe_dump(document))
    return data_key


def write_sops_config(root: Path, admin: str, recipients: Dict[str, str], leave_out: Iterable[str] = ()) -> None:
    """``.sops.yaml``: one rule per host (``secrets/<host>.yaml``) for the admin and the host,
    except the hosts in ``leave_out`` (drift)."""
    rules = [
        {
            "path_regex": r"secrets/%s\.yaml$" % host,
            "key_groups": [{"age": [admin] + ([] if host in leave_out else [recipient])}],
        }
        for host, recipient in recipients.items()
    ]
    (root / ".sops.yaml").write_text(yaml.safe_dump({"creation_rules": rules}))


def make_repo(root: Path, hosts: List[str]) -> Dict[str, str]:
    """A repository as a user has it: ``admin.txt``, ``keys/<host>.txt`` (vaulted, in real life),
    ``.sops.yaml`` and ``secrets/<host>.yaml``. Returns ``{"admin": recipient, host: recipient…}``."""
    (root / "keys").mkdir(parents=True, exist_ok=True)
    admin = age_keygen(root / "admin.txt")
    recipients = {host: age_keygen(root / "keys" / ("%s.txt" % host)) for host in hosts}
    write_sops_config(root, admin, recipients)
    for host in hosts:
        write_sops_file(root / "secrets" / ("%s.yaml" % host), [admin, recipients[host]])
    return dict(recipients, admin=admin)


if __name__ == "__main__":
    # python3 tests/helpers/sops_files.py DIR HOST...  (Molecule's prepare step)
    print(json.dumps(make_repo(Path(sys.argv[1]), sys.argv[2:])))
