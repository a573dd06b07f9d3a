"""Every example in README.md and the guides (docs/) runs as written, in the order the documents give it
(the README, then the guides in the docsite's order: see tests/helpers/doc_examples.py).

The fleet's hosts carry the examples' names: web-01, web-02 and cache01 (web-02 and cache01 have no
Python); the flake is the fixture flake with those hosts. Each step runs one example (see
tests/helpers/doc_examples.py for how they are read and the few names ``FILL_IN`` maps) and checks
what the text says happens. An example that cannot run here is in ``SKIPPED``, with the reason; an
example with neither a step nor a reason fails the first test.
"""

import json
import re

import pytest
import yaml
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from doc_examples import Example, Project, read_examples
from fleetctl import FixtureFlake, inside, served_version
from fleet_fixtures import own_fleet
from policy_flakes import make_flakes
from sops_files import age_keygen, write_sops_file

pytestmark = pytest.mark.integration

EXAMPLES = read_examples()
NAMES = ["web-01", "web-02", "cache01"]
WEB = ["web-01", "web-02"]
# First line of an example → why it does not run here. Keep this short.
SKIPPED = {
    "$ ansible-galaxy collection install nixfleet.nixos": (
        "Galaxy is on the internet; test_collection_build.py runs the second command (build the tarball, "
        "install it) in a temporary directory, where it writes nothing into the checkout"
    ),
    "# inventories/migrated.flake.yml": (
        "the migration guide's inventory: test_migration_guide.py runs it with the guide's two flakes "
        "(their github: inputs replaced by local stand-ins)"
    ),
    "$ ansible-inventory -i inventories/migrated.flake.yml --graph": (
        "the migration guide's commands: test_migration_guide.py runs them, in order, on each of its flakes"
    ),
    "$ ansible-playbook -i inventories/prod.flake.yml playbooks/build.yml": (
        "pre-built deploys need a signed cache on a fleet host: test_manifest.py runs build.yml and "
        "deploy.yml with its manifest that way (and the refusals)"
    ),
}
# deploy-vars.yml's checks that need systemd on the host; the fleet's hosts have none.
NEEDS_SYSTEMD = ("app is active", None)


fleet = own_fleet("readme", 3, ["web-02", "cache01"], "127.0.23.11", names=NAMES)


@pytest.fixture(scope="module")
def project(fleet, tmp_path_factory):
    root = tmp_path_factory.mktemp("readme-project")
    hosts = {n: {"address": fleet[n].address, "port": fleet[n].port, "user": "root", "shape": "colmena"} for n in WEB}
    flake = FixtureFlake.from_specs(root / "infra", hosts, fleet.hosts[0].http_port)
    flake.data["packages"] = {"hello": "1.0", "greet": "2.1"}
    flake.write()
    p = Project(root, fleet.hosts, flake.path, EXAMPLES)
    p.fleet, p.flake = fleet, flake
    return p


def running(project, name):
    return inside(project.fleet[name], "readlink /run/current-system || true").strip()


def versions(project):
    return {n: served_version(project.fleet[n]) for n in WEB}


def bump(project):
    """The user changes the flake: each host gets a new generation."""
    for name in WEB:
        project.flake.set_host(name, version=str(int(project.flake.data["hosts"][name]["version"]) + 1))
    return {n: project.flake.data["hosts"][n]["version"] for n in WEB}


def quick_start(project, example):
    project.write("inventories/prod.flake.yml", example.shown_output("cat inventories/prod.flake.yml"))
    cat, graph, check = [project.run_example(example, only=i)[0] for i in range(3)]
    assert cat == example.shown_output("cat inventories/prod.flake.yml")
    assert "web-01" in graph and "web-02" in graph and "@nixos" in graph
    # one task per host would copy and switch
    assert all("changed=1" in line for line in check.split("PLAY RECAP")[1].splitlines() if line.startswith("web-"))
    assert [running(project, n) for n in WEB] == ["", ""]  # --check switched nothing
    project.run_example(example, only=3)
    assert versions(project) == {"web-01": "1", "web-02": "1"}


def full_inventory(project, example):
    project.write("inventories/prod.flake.yml")
    graph = project.run("ansible-inventory -i inventories/prod.flake.yml --graph")
    assert graph.returncode == 0, graph.stdout
    assert "web-01" in graph.stdout and "web-02" in graph.stdout  # host_filter: ['web-*']


def deploying(project, example):
    wanted = bump(project)
    before_web01 = running(project, "web-01")
    deploy, check, boot, rollback = project.run_example(example)
    assert "HOST    RESULT    GENERATION  SYSTEM" in deploy  # the summary the README shows
    assert "web-01  switched  1 -> 2" in deploy and "web-02  switched  1 -> 2" in deploy
    assert "changed=0" in check.split("PLAY RECAP")[1]
    assert running(project, "web-01") == before_web01  # rolled back to generation 1
    assert versions(project) == {"web-01": "1", "web-02": wanted["web-02"]}


def profile_links(project, name):
    """{generation number: store path} of the host's system profile."""
    out = inside(
        project.fleet[name], "for l in /nix/var/nix/profiles/system-*-link; do echo ${l##*/} $(readlink $l); done"
    )
    return {int(link.split("-")[1]): path for link, path in (line.split() for line in out.splitlines())}


def garbage_collection(project, example):
    before = {n: profile_links(project, n) for n in WEB}
    gone = {}
    for name in WEB:  # keep_last=1 keeps the newest; the current (running) one stays too
        current = inside(project.fleet[name], "readlink /nix/var/nix/profiles/system").strip()
        kept = {max(before[name]), int(current.split("-")[1])}
        gone[name] = {n: p for n, p in before[name].items() if n not in kept}
    assert gone["web-02"], "the earlier steps left web-02 an old generation"
    check, real = project.run_example(example)
    assert {n: profile_links(project, n) for n in WEB} != before
    for name in WEB:
        assert sorted(profile_links(project, name)) == sorted(set(before[name]) - set(gone[name]))
        for path in set(gone[name].values()) - set(profile_links(project, name).values()):
            assert (
                inside(project.fleet[name], "nix-store --check-validity %s 2>/dev/null || echo gone" % path).strip()
                == "gone"
            )
        assert "%s: %d generation(s) would be deleted" % (name, len(gone[name])) in check
        assert "%s: %d generation(s) deleted %s" % (name, len(gone[name]), sorted(gone[name])) in real
    (again,) = project.run_example(example, only=1)
    assert all("changed=0" in line for line in again.split("PLAY RECAP")[1].splitlines() if line.startswith("web-"))


def sbom(project, example):
    project.run_example(example)
    for name in WEB:
        text = (project.root / "sbom" / ("%s.cdx.json" % name)).read_text()
        assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
        bom = json.loads(text)
        assert bom["metadata"]["component"]["bom-ref"] == running(project, name)
        (kernel,) = [c for c in bom["components"] if c["name"] == "linux"]  # as the README shows it
        assert kernel["externalReferences"][0]["url"].startswith("https://cdn.kernel.org/")
    (again,) = project.run_example(example)
    assert all("changed=0" in line for line in again.split("PLAY RECAP")[1].splitlines() if line.startswith("web-"))


def safe_deploys(project, example):
    shown = yaml.safe_load(project.shown_file("deploy-vars.yml"))
    shown["nixos_deploy_health_checks"] = [
        c for c in shown["nixos_deploy_health_checks"] if c.get("name") not in NEEDS_SYSTEMD
    ]
    project.write("deploy-vars.yml", yaml.safe_dump(shown))
    wanted = bump(project)
    (output,) = project.run_example(example)
    checks = len(shown["nixos_deploy_health_checks"])
    for name in WEB:  # the summary: switched, and the health checks passed
        assert re.search(r"%s  switched .* ok \(%d checks\)" % (name, checks), output), output[-3000:]
    assert versions(project) == wanted


def binary_cache(project, example):
    project.write("cache.yml")
    wanted = bump(project)
    served, deployed = project.run_example(example)
    assert "cache01" in served and "failed=0" in served
    key = project.root / "home" / ".config" / "nixfleet" / "cache01-1.sec"
    assert key.exists() and oct(key.stat().st_mode)[-3:] == "600"
    assert "cache01-1:" in inside(project.fleet["web-02"], "cat /etc/nix/nix.conf")
    assert versions(project) == wanted and "failed=0" in deployed
    log = inside(project.fleet["cache01"], "cat /var/lib/nixfleet-binary-cache/access.log")
    for name in WEB:  # pushed once, pulled by the host
        narinfo = "/%s.narinfo" % running(project, name).split("/")[3].split("-")[0]
        assert '"PUT %s ' % narinfo in log and '"GET %s ' % narinfo in log, name


def sops_age(project, example):
    root = project.root
    admin = age_keygen(root / "admin.txt")
    (root / "keys").mkdir()
    recipients = {n: age_keygen(root / "keys" / ("%s.txt" % n)) for n in WEB}
    rules = [{"path_regex": r"secrets/%s\.yaml$" % n, "key_groups": [{"age": [admin, recipients[n]]}]} for n in WEB]
    rules.append({"path_regex": r"secrets/common\.yaml$", "key_groups": [{"age": [admin] + list(recipients.values())}]})
    (root / ".sops.yaml").write_text(yaml.safe_dump({"creation_rules": rules}))
    for name in WEB:
        write_sops_file(root / "secrets" / ("%s.yaml" % name), [admin, recipients[name]])
    write_sops_file(root / "secrets" / "common.yaml", [admin] + list(recipients.values()))
    # The user's vault holds the keys (vault_age_keys); vault.yml is encrypted as the example says.
    (root / "inventories" / "group_vars" / "nixos.yml").write_text(
        yaml.safe_dump({"vault_age_keys": {n: (root / "keys" / ("%s.txt" % n)).read_text() for n in WEB}})
    )
    (root / "vault-password").write_text("readme-example-vault\n")
    project.write("vault.yml")
    encrypt = project.run("ansible-vault encrypt vault.yml")
    assert encrypt.returncode == 0 and "$ANSIBLE_VAULT" in (root / "vault.yml").read_text(), encrypt.stdout
    (output,) = project.run_example(example)
    for name in WEB:
        placed = inside(project.fleet[name], "stat -c '%a' /var/lib/sops-nix/key.txt; cat /var/lib/sops-nix/key.txt")
        assert placed.split("\n", 1) == ["600", (root / "keys" / ("%s.txt" % name)).read_text()]
        assert "AGE-SECRET-KEY-" not in output


def package_profiles(project, example):
    project.write("ops-tools.yml")
    project.run_example(example, only=0)
    for name in WEB:
        assert inside(project.fleet[name], "/root/bin/hello; /root/bin/greet").split() == [
            "hello",
            "1.0",
            "greet",
            "2.1",
        ]
    project.flake.data["packages"]["greet"] = "2.2"
    project.flake.write()
    (check,) = project.run_example(example, only=1)
    assert "greet 2.1" in check and "greet 2.2" in check  # the comment's "greet 2.1 -> 2.2"
    assert inside(project.fleet["web-01"], "/root/bin/greet").strip() == "greet 2.1"  # --check changed nothing
    project.run_example(example, only=0)  # the user applies it
    assert inside(project.fleet["web-01"], "/root/bin/greet").strip() == "greet 2.2"
    project.run_example(example, only=2)
    for name in WEB:
        assert inside(project.fleet[name], "/root/bin/greet").strip() == "greet 2.1"


def flake_policy(project, example):
    flakes = make_flakes(project.root / "policy")
    project.values["approved"] = str(flakes["approved"])
    (output,) = project.run_example(example, cwd=flakes["good"])  # in CI: the flake's own checkout
    assert "follows the inputs policy" in output


def ansible_cfg(project, example):
    (project.root / "ansible.cfg").write_text(example.text)
    proc = project.run("ansible-playbook -i inventories/prod.flake.yml playbooks/deploy.yml")
    assert proc.returncode == 0, proc.stdout[-4000:]
    recap = proc.stdout.split("PLAY RECAP")[1]
    assert all("changed=0" in line for line in recap.splitlines() if line.startswith("web-"))


def supply_chain(project, example):
    """Exposure before and after a deploy through the gate (web-01 refused, web-02 by its exception)
    that signs what it deploys; verify.yml vouches for web-02 and flags web-01."""
    curl = {"version": "8.5.0", "uses": ["openssl"]}
    project.flake.set_host("web-01", libs={"openssl": "3.0.13", "curl": curl}, apps=["curl"])
    project.flake.set_host("web-02", libs={"openssl": "3.0.13"})
    exposure, keys, deploy, verify = example.commands()
    before = project.run(exposure)
    assert before.returncode == 0 and "openssl <3.0.14: on none of 2 hosts" in before.stdout, before.stdout[-3000:]
    project.write("gate-vars.yml")
    project.write("provenance.yml")
    assert project.run(keys).returncode == 0 and (project.root / "provenance.key.pub").exists()
    deployed = project.run(deploy)
    assert deployed.returncode != 0  # web-01 is refused
    assert (
        "web-01: refused before anything was copied: openssl 3.0.13 is denied by openssl <3.0.14; pulled in by "
        "nixos-system-web-01-"
    ) in deployed.stdout
    assert (
        "web-02: openssl 3.0.13 (denied by openssl <3.0.14) allowed until 2030-12-31: appliance, no TLS listener"
        in deployed.stdout
    )
    assert "BEGIN OPENSSH PRIVATE KEY" not in deployed.stdout
    after = project.run(exposure)
    assert "openssl <3.0.14 running now on 1 of 2 hosts: web-02" in after.stdout, after.stdout[-3000:]
    checked = project.run(verify)
    assert checked.returncode == 0, checked.stdout[-3000:]
    assert re.search(r"web-02: in sync, [^\n]*; provenance: signed by key [0-9a-f]{16} for ", checked.stdout)
    assert re.search(r"web-01: DRIFT: [^\n]*; NO VALID PROVENANCE: the host keeps no signed statement", checked.stdout)
    for name in WEB:  # the later examples' flake, as it was
        project.flake.data["hosts"][name].pop("libs", None)
        project.flake.data["hosts"][name].pop("apps", None)
    project.flake.write()


# First line of the example → its step, in the order the documents give them.
STEPS = {
    "$ cat inventories/prod.flake.yml": quick_start,
    "# inventories/prod.flake.yml": full_inventory,
    "$ ansible-playbook -i inventories/prod.flake.yml playbooks/deploy.yml          # or": deploying,
    "$ ansible-playbook -i inventories/prod.flake.yml playbooks/gc.yml": garbage_collection,
    "$ ansible-playbook -i inventories/prod.flake.yml playbooks/sbom.yml": sbom,
    "$ ansible-playbook -i inventories/prod.flake.yml playbooks/exposure.yml": supply_chain,
    "$ ansible-playbook -i inventories/prod.flake.yml playbooks/deploy.yml -e @deploy-vars.yml": safe_deploys,
    "$ ansible-playbook -i hosts.yml playbooks/profile.yml -e @ops-tools.yml": package_profiles,
    "$ ansible localhost -c local -m nixfleet.nixos.flake_policy": flake_policy,
    "$ ansible-playbook -i inventories/ cache.yml": binary_cache,
    "$ ansible-playbook -i inventories/prod.flake.yml playbooks/sops_age.yml -e @vault.yml": sops_age,
    "# ansible.cfg": ansible_cfg,
}
# Examples that are files, written by the step that runs the command using them.
FILES = {
    "inventories/prod.flake.yml",
    "deploy-vars.yml",
    "cache.yml",
    "vault.yml",
    "ops-tools.yml",
    "gate-vars.yml",
    "provenance.yml",
}
# Files another test writes from the documents itself (see SKIPPED).
SKIPPED_FILES = {"inventories/migrated.flake.yml"}


def find(start: str) -> Example:
    found = [e for e in EXAMPLES if e.first_line.startswith(start)]
    assert len(found) == 1, "%d examples start with %r" % (len(found), start)
    return found[0]


def test_every_example_has_a_step_or_a_reason():
    known = list(STEPS) + list(SKIPPED)
    unknown = [
        e.where + " " + e.first_line
        for e in EXAMPLES
        if e.file_name not in FILES and not any(e.first_line.startswith(k) for k in known)
    ]
    assert unknown == []
    assert {e.file_name for e in EXAMPLES if e.file_name and e.file_name not in SKIPPED_FILES} == FILES
    order = [EXAMPLES.index(find(k)) for k in STEPS]
    assert order == sorted(order), "STEPS must follow the documents' order"


@pytest.mark.parametrize("start", list(STEPS))
def test_example(project, start):
    STEPS[start](project, find(start))


def test_gather_facts_is_off_in_every_example_play():
    """Plays that target hosts must not gather facts: hosts may have no Python (the roles need none)."""
    for e in EXAMPLES:
        if e.language == "yaml" and e.text.lstrip().startswith(("#", "-")):
            plays = yaml.safe_load(e.text)
            if isinstance(plays, list) and plays and isinstance(plays[0], dict) and "hosts" in plays[0]:
                assert all(p.get("gather_facts") is False for p in plays), e.where
