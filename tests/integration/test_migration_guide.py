"""docs/migration.md as written: its deploy-rs flake and its colmena hive, each with the guide's inventory
file, deployed with the guide's commands to the fleet. Only what ``FILL_IN`` lists is changed: the
``github:`` inputs (local stand-ins, tests/fixtures/stand-ins) and the names of things the fleet has under
other names. The configurations' own modules (configuration.nix, web-02.nix) are the user's, not the
guide's: the test writes them."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from fleetctl import FIXTURE_FLAKE, ROOT, inside
from fleet_fixtures import own_fleet
from playbook_helpers import BIN

pytestmark = pytest.mark.integration

GUIDE = ROOT / "docs" / "migration.md"
STAND_INS = ROOT / "tests" / "fixtures" / "stand-ins"
SECRET = "guide-key-secret-48"


def guide_block(language, first_line):
    text = GUIDE.read_text()
    blocks = re.findall(r"^```%s\n(.*?)^```$" % language, text, flags=re.S | re.M)
    found = [b for b in blocks if b.splitlines()[0].strip() == first_line]
    assert len(found) == 1, "docs/migration.md has no single ```%s block starting %r" % (language, first_line)
    return found[0]


def guide_commands():
    block = [
        b
        for b in re.findall(r"^```console\n(.*?)^```$", GUIDE.read_text(), flags=re.S | re.M)
        if "migrated.flake.yml" in b
    ][0]
    return [line[2:] for line in block.splitlines() if line.startswith("$ ")]


fleet = own_fleet("guide", 2, [], "127.0.33.11", names=["web-01", "web-02"])


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory):
    root = tmp_path_factory.mktemp("stand-ins")
    for name in ("nixpkgs", "deploy-rs", "colmena"):
        shutil.copytree(str(STAND_INS / name), str(root / name))
    shutil.copytree(str(FIXTURE_FLAKE / "lib"), str(root / "nixpkgs" / "lib"))
    return root


def fill_in(text, fleet, stand_ins, key_file):
    for said, meant in [
        ("github:NixOS/nixpkgs/nixos-24.11", "path:%s/nixpkgs" % stand_ins),
        ("github:serokell/deploy-rs", "path:%s/deploy-rs" % stand_ins),
        ("github:zhaofengli/colmena", "path:%s/colmena" % stand_ins),
        ("web-01.example.org", fleet["web-01"].address),
        ("web-02.example.org", fleet["web-02"].address),
        ("/etc/deploy-secrets/app.env", str(key_file)),
    ]:
        text = text.replace(said, meant)
    return text


def project(tmp_path, fleet, stand_ins, tool, modules):
    """A user's directory: infra/ (the guide's flake for ``tool``), inventories/ (the guide's file and
    the ssh settings), playbooks/ (the collection's)."""
    key_file = tmp_path / "app.env"
    key_file.write_text(SECRET)
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "flake.nix").write_text(
        fill_in(guide_block("nix", "# flake.nix (%s)" % tool), fleet, stand_ins, key_file)
    )
    for name, text in modules.items():
        (tmp_path / "infra" / name).write_text(text)
    # a user's flake comes with its flake.lock (the inventory never writes one)
    subprocess.run(
        ["nix", "flake", "lock", "path:%s/infra" % tmp_path],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    (tmp_path / "inventories" / "group_vars").mkdir(parents=True)
    (tmp_path / "inventories" / "migrated.flake.yml").write_text(
        guide_block("yaml", "# inventories/migrated.flake.yml")
    )
    host = fleet.hosts[0]
    (tmp_path / "inventories" / "group_vars" / "all.yml").write_text(
        yaml.safe_dump(
            {
                "ansible_ssh_private_key_file": host.private_key,
                "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes" % host.known_hosts,
            }
        )
    )
    shutil.copytree(str(ROOT / "playbooks"), str(tmp_path / "playbooks"))
    return tmp_path


def run_guide(directory):
    """The guide's commands, in its order, as a user types them in their directory: each one's output,
    as it finishes (the test looks at the hosts between them)."""
    for command in guide_commands():
        argv = command.split()
        argv[0] = str(Path(BIN) / argv[0])
        proc = subprocess.run(
            argv,
            cwd=str(directory),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            universal_newlines=True,
            timeout=600,
            check=False,
        )
        assert proc.returncode == 0, "%s failed:\n%s" % (command, proc.stdout[-4000:])
        yield proc.stdout


def state(host):
    """(system profile link, running system) on a host that may have neither yet."""
    return tuple(
        inside(host, "readlink %s || true" % link).strip()
        for link in ("/nix/var/nix/profiles/system", "/run/current-system")
    )


def module(fleet, name):
    return '{ networking.hostName = "%s"; fixture.address = "%s"; }\n' % (name, fleet[name].address)


def toplevel(directory, output):
    return subprocess.run(
        ["nix", "eval", "--raw", "path:%s/infra#%s.config.system.build.toplevel.outPath" % (directory, output)],
        stdout=subprocess.PIPE,
        universal_newlines=True,
        check=True,
    ).stdout


def test_the_deploy_rs_flake_deploys_as_its_settings_say(fleet, stand_ins, tmp_path):
    directory = project(tmp_path, fleet, stand_ins, "deploy-rs", {"configuration.nix": module(fleet, "web-01")})
    commands = run_guide(directory)
    graph = next(commands)
    assert "web-01" in graph and "@nixos" in graph
    check = next(commands)
    assert re.search(r"web-01\s+: ok=\d+\s+changed=[1-9]", check) and state(fleet["web-01"]) == ("", "")
    deploy = next(commands)
    assert re.search(r"web-01\s+: ok=\d+\s+changed=[1-9]", deploy), deploy[-2000:]
    assert state(fleet["web-01"]) == ("system-1-link", toplevel(directory, 'nixosConfigurations."web-01"'))
    hostvars = subprocess.run(
        [BIN + "/ansible-inventory", "-i", "inventories/migrated.flake.yml", "--host", "web-01"],
        cwd=str(directory),
        stdout=subprocess.PIPE,
        universal_newlines=True,
        check=True,
    ).stdout
    settings = yaml.safe_load(hostvars)
    assert (settings["ansible_host"], settings["ansible_port"], settings["ansible_user"]) == (
        fleet["web-01"].address,
        2222,
        "root",
    )
    mapped = (
        settings["nixos_deploy_confirm_timeout"],
        settings["nixos_deploy_copy_mode"],
        settings["nixos_deploy_magic_rollback"],
        settings["nixos_deploy_auto_rollback"],
    )
    assert mapped == (60, "substitute", True, True)


def test_the_colmena_hive_deploys_as_its_deployment_says(fleet, stand_ins, tmp_path):
    directory = project(tmp_path, fleet, stand_ins, "colmena", {"web-02.nix": module(fleet, "web-02")})
    commands = run_guide(directory)
    graph = next(commands)
    assert "@tag_web" in graph and "web-02" in graph
    check = next(commands)
    assert inside(fleet["web-02"], "test -e /run/keys/app.env && echo yes || echo no").strip() == "no"
    assert state(fleet["web-02"]) == ("", "")
    assert "/run/keys/app.env" in check  # the diff names the key, never its content
    deploy = next(commands)
    for output in (graph, check, deploy):
        assert SECRET not in output
    new = toplevel(directory, 'colmenaHive.nodes."web-02"')
    assert state(fleet["web-02"]) == ("system-1-link", new)
    # buildOnTarget: the controller only evaluated it, the host built it
    assert (
        subprocess.run(["nix-store", "--check-validity", new], stderr=subprocess.DEVNULL, check=False).returncode != 0
    )
    assert inside(fleet["web-02"], "stat -c '%a %U' /run/keys/app.env; cat /run/keys/app.env").split() == [
        "400",
        "root",
        SECRET,
    ]
