"""The examples of README.md and the guides in docs/, read from the documents themselves, and a
user's project to run them in (see tests/integration/test_readme_examples.py). The documents are
read in the order a reader meets them: the README, then the guides in the docsite's order
(docs/docsite/extra-docs.yml), then any other document of docs/.

An example is a fenced ``console`` block (its ``$`` commands), a ``yaml`` block (a file when its
first line is ``# NAME``) or an ``ini`` block. Only what ``FILL_IN`` lists is changed in an example:
names and addresses of things the fleet has under other names.
"""

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import yaml

ROOT = Path(__file__).resolve().parents[2]


def documents() -> List[Path]:
    config = yaml.safe_load((ROOT / "docs" / "docsite" / "extra-docs.yml").read_text())
    names = [entry if isinstance(entry, str) else entry["ref"] for s in config["sections"] for entry in s["toctree"]]
    guides = [ROOT / "docs" / ("%s.md" % name.replace("_", "-")) for name in names]
    return [ROOT / "README.md"] + guides + [p for p in sorted((ROOT / "docs").glob("*.md")) if p not in guides]


DOCUMENTS = documents()
LANGUAGES = ("console", "yaml", "ini")
BIN = os.path.dirname(sys.executable)
# What an example names → what the fleet has. Nothing else in an example is changed.
FILL_IN = [
    ("http://cache01:8081", "http://{cache_address}:8081"),  # the fleet's hosts have no name service
    ("github:acme/approved#packages.x86_64-linux.ripgrep", "path:{infra}#packages.x86_64-linux.hello"),
    ("github:acme/approved#packages.x86_64-linux.jq", "path:{infra}#packages.x86_64-linux.greet"),
    ("profile_bin_dir: /usr/local/bin", "profile_bin_dir: /root/bin"),  # fleet hosts share the machine's /usr/local
    ("github:acme/approved-nixpkgs/*", "git+file://{approved}*"),  # GitHub is not reachable
]


@dataclass(frozen=True)
class Example:
    document: str
    line: int
    language: str
    text: str

    @property
    def first_line(self) -> str:
        return self.text.splitlines()[0].strip()

    @property
    def where(self) -> str:
        return "%s:%d" % (self.document, self.line)

    @property
    def file_name(self) -> Optional[str]:
        """``deploy-vars.yml`` for a yaml block whose first line is ``# deploy-vars.yml …``."""
        match = re.match(r"#\s*([\w./-]+\.ya?ml)\b", self.first_line)
        return match.group(1) if match and self.language == "yaml" else None

    def commands(self) -> List[str]:
        """The ``$`` commands, continuation lines joined, optional ``[-…]`` parts left out."""
        found: List[str] = []
        current: Optional[str] = None
        for raw in self.text.splitlines():
            line = raw.strip()
            if current is not None:
                current += " " + line
            elif line.startswith("$ "):
                current = line[2:]
            else:
                continue
            if current.endswith("\\"):
                current = current[:-1].rstrip()
                continue
            found.append(re.sub(r"\s+\[-[^\]]*\]", "", current))  # an optional part: [-e name=value]
            current = None
        return found

    def shown_output(self, command_start: str) -> str:
        """The lines a console example shows after the command that starts with ``command_start``."""
        lines = self.text.splitlines()
        start = [i for i, line in enumerate(lines) if line.startswith("$ " + command_start)][0] + 1
        end = next((i for i in range(start, len(lines)) if lines[i].startswith("$ ")), len(lines))
        return "\n".join(lines[start:end]) + "\n"


def read_examples() -> List[Example]:
    examples = []
    for path in DOCUMENTS:
        lines = path.read_text().splitlines()
        start, language = None, ""
        for number, line in enumerate(lines, 1):
            fence = re.match(r"^\s*```(\w*)\s*$", line)
            if not fence:
                continue
            if start is None:
                start, language = number, fence.group(1)
                continue
            if language in LANGUAGES:
                body = lines[start : number - 1]
                indent = min((len(b) - len(b.lstrip()) for b in body if b.strip()), default=0)
                examples.append(Example(path.name, start, language, "\n".join(b[indent:] for b in body) + "\n"))
            start = None
    return examples


class Project:
    """A user's infrastructure directory: the flake (``infra/``), ``inventories/``, ``playbooks/`` (the
    collection's), the files the examples name, and a HOME of its own (for keys the roles generate)."""

    def __init__(self, root: Path, hosts: List, infra: Path, examples: List[Example]) -> None:
        self.root, self.examples = root, examples
        self.values: Dict[str, str] = {"infra": str(infra)}
        shutil.copytree(str(ROOT / "playbooks"), str(root / "playbooks"))
        (root / "home").mkdir()
        ssh = {
            "ansible_ssh_private_key_file": hosts[0].private_key,
            "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes" % hosts[0].known_hosts,
        }
        # What the user brings besides: ssh settings, and a static inventory of the hosts the flake
        # does not describe (the group caches) and of all hosts (for hosts.yml examples).
        (root / "inventories" / "group_vars").mkdir(parents=True)
        (root / "inventories" / "group_vars" / "all.yml").write_text(yaml.safe_dump(ssh))
        address = {h.name: {"ansible_host": h.address, "ansible_port": h.port, "ansible_user": h.user} for h in hosts}
        caches = {n: v for n, v in address.items() if n.startswith("cache")}
        (root / "inventories" / "caches.yml").write_text(yaml.safe_dump({"caches": {"hosts": caches}}))
        others = {n: v for n, v in address.items() if n not in caches}
        (root / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": others, "vars": ssh}}))
        if caches:
            self.values["cache_address"] = caches[sorted(caches)[0]]["ansible_host"]

    def fill_in(self, text: str) -> str:
        for said, meant in FILL_IN:
            if said in text:
                text = text.replace(said, meant.format(**self.values))
        return text

    def shown_file(self, name: str) -> str:
        return [e for e in self.examples if e.file_name == name][-1].text

    def write(self, name: str, text: Optional[str] = None) -> Path:
        """The file an example shows (filled in), or ``text``."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.fill_in(text if text is not None else self.shown_file(name)))
        return path

    def run(self, command: str, cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
        env = dict(
            os.environ,
            PATH="%s:%s" % (BIN, os.environ["PATH"]),
            HOME=str(self.root / "home"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
        )
        if (self.root / "vault-password").exists():  # how the user's ansible.cfg or AWX gives it
            env["ANSIBLE_VAULT_PASSWORD_FILE"] = str(self.root / "vault-password")
        return subprocess.run(
            ["bash", "-c", self.fill_in(command)],
            cwd=str(cwd or self.root),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            universal_newlines=True,
            timeout=600,
            check=False,
        )

    def run_example(self, example: Example, cwd: Optional[Path] = None, only: Optional[int] = None) -> List[str]:
        """Run the example's commands (or only the one at index ``only``); each must succeed."""
        commands = example.commands()
        outputs = []
        for command in commands if only is None else [commands[only]]:
            proc = self.run(command, cwd)
            assert proc.returncode == 0, "%s: %s\n%s" % (example.where, command, proc.stdout[-4000:])
            outputs.append(proc.stdout)
        return outputs
