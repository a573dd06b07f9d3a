"""AWX/Tower: an execution environment definition ansible-builder accepts, and playbooks/deploy.yml
run through ansible-runner as AWX runs it (private data dir, project, inventory source = the
.flake.yml file, ssh key as a credential, --check --diff then a real run), judged by job events."""

import json
import os
import re
import shutil
import subprocess
import sys

import ansible_runner
import pytest
import yaml
from awx_slices import job_env, task_results
from fleetctl import NIX_CONFIG, ROOT, FixtureFlake, inside
from fleet_fixtures import own_fleet
from inventory_helpers import inventory_list

pytestmark = pytest.mark.integration

BIN = os.path.dirname(sys.executable)
HOSTS = ["node01", "node02"]


def test_execution_environment_builds_a_context(tmp_path):
    example = tmp_path / "awx"
    shutil.copytree(str(ROOT / "examples" / "awx"), str(example))
    built = subprocess.run(
        [os.path.join(BIN, "ansible-galaxy"), "collection", "build", str(ROOT), "--output-path", str(example)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        check=False,
    )
    assert built.returncode == 0, built.stdout
    proc = subprocess.run(
        [
            os.path.join(BIN, "ansible-builder"),
            "create",
            "-f",
            "execution-environment.yml",
            "-c",
            str(tmp_path / "context"),
            "--output-filename",
            "Containerfile",
        ],
        cwd=str(example),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        check=False,
    )
    assert proc.returncode == 0 and "Complete!" in proc.stdout and "USER directive" not in proc.stdout, proc.stdout
    containerfile = (tmp_path / "context" / "Containerfile").read_text()
    assert "install-from-bindep" in containerfile and "nix --version" in containerfile
    assert (tmp_path / "context" / "_build" / "collections" / "nixfleet-nixos-0.1.0.tar.gz").exists()
    assert (
        yaml.safe_load((tmp_path / "context" / "_build" / "requirements.yml").read_text())["collections"][0]["name"]
        == "collections/nixfleet-nixos-0.1.0.tar.gz"
    )  # what ansible-galaxy installs from /build
    meta = yaml.safe_load((ROOT / "meta" / "execution-environment.yml").read_text())
    assert all((ROOT / path).exists() for path in meta["dependencies"].values())


def test_credential_types_feed_role_variables():
    """Each custom credential type injects only its own inputs, into variables the roles declare."""
    declared = set()
    for spec in ROOT.glob("roles/*/meta/argument_specs.yml"):
        for entry in yaml.safe_load(spec.read_text())["argument_specs"].values():
            declared |= set(entry.get("options", {}))
    for kind in yaml.safe_load((ROOT / "examples" / "awx" / "credential-types.yml").read_text()):
        fields = {f["id"] for f in kind["inputs"]["fields"]}
        assert all(f["secret"] for f in kind["inputs"]["fields"]), kind["name"]
        for name, value in kind["injectors"]["extra_vars"].items():
            assert name in declared, (kind["name"], name)
            used = set(re.findall(r"\{\{ (\w+) \}\}", value)) | set(re.findall(r"tower\.filename\.(\w+)", value))
            assert used <= fields | {t.split(".", 1)[1] for t in kind["injectors"].get("file", {})}, (
                kind["name"],
                name,
            )


fleet = own_fleet("awx", 2, ["node02"], "127.0.65.11")


@pytest.fixture(scope="module")
def job(fleet, tmp_path_factory):
    """An AWX-style private data dir: project (playbook + inventory source), ssh key credential, env."""
    base = tmp_path_factory.mktemp("awx-job")
    flake = FixtureFlake.create(base / "flake", fleet, {"node01": "colmena", "node02": "deploy-rs"})
    data = base / "private"
    project = data / "project"
    shutil.copytree(str(ROOT / "tests" / "fixtures" / "awx-project"), str(project))
    (project / "inventories" / "group_vars").mkdir(parents=True)
    (project / "inventories" / "fleet.flake.yml").write_text("plugin: nixfleet.nixos.flake\nflake: %s\n" % flake.path)
    (project / "inventories" / "group_vars" / "all.yml").write_text(
        yaml.safe_dump(
            {
                "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes"
                % fleet.hosts[0].known_hosts,
                "nixos_deploy_confirm_timeout": 10,
            }
        )
    )
    (data / "env").mkdir()
    (data / "env" / "ssh_key").write_text(open(fleet.hosts[0].private_key).read())  # AWX's machine credential
    return {"data": data, "project": project, "flake": flake, "key": open(fleet.hosts[0].private_key).read()}


def run_job(job, cmdline="--diff", inventory=None):
    """One job (its inventory: the project's .flake.yml source unless given); cmdline always given
    (ansible-runner keeps the last one in env/cmdline otherwise)."""
    result = ansible_runner.run(
        private_data_dir=str(job["data"]),
        playbook="deploy.yml",
        inventory=str(inventory or job["project"] / "inventories" / "fleet.flake.yml"),
        cmdline=cmdline,
        envvars=job_env(NIX_CONFIG),
        quiet=True,
    )
    return result, list(result.events)


def test_deploy_through_ansible_runner(fleet, job):
    first, events = run_job(job)
    assert first.status == "successful", [e.get("stdout") for e in events][-30:]
    assert sorted(task_results(events, "Copy and switch to the system")) == HOSTS
    job["flake"].set_host("node01", version="2")
    check, events = run_job(job, "--check --diff")
    assert check.status == "successful"
    switch = task_results(events, "Copy and switch to the system")
    assert switch["node01"]["changed"] is True and switch["node02"]["changed"] is False
    prepared = switch["node01"]["diff"]["prepared"]
    assert "nixos-system-node01" in prepared and "1 → 2" in prepared  # the closure diff, in the job event
    assert inside(fleet["node01"], "cat /run/current-system/nixos-version").strip() == "1"
    real, events = run_job(job)
    assert real.status == "successful"
    switch = task_results(events, "Copy and switch to the system")
    assert switch["node01"]["changed"] is True and switch["node01"]["generation"] == 2, switch
    assert switch["node02"]["changed"] is False
    stats = [e for e in events if e["event"] == "playbook_on_stats"][0]["event_data"]
    report = {row["host"]: row for row in stats["artifact_data"]["nixos_deploy_report"]}
    assert report["node01"]["result"] == "switched" and report["node02"]["result"] == "unchanged"
    everything = json.dumps(events)
    secret = "".join(job["key"].strip().splitlines()[1:-1])
    assert secret[:40] not in everything and secret[-40:] not in everything  # the ssh key never in an event


def test_inventory_import_round_trip(fleet, job, tmp_path):
    """What AWX does with an inventory source: the update stores `ansible-inventory --list --export`
    (plain JSON values: AWX keeps a dict where a value was {"__ansible_unsafe": …}), and each job
    gets the stored inventory back as an inventory script; the machine credential is the job's ssh key."""
    job["flake"].set_host("node02", version="3")  # a change made before the inventory update
    rc, stored, err = inventory_list(job["project"] / "inventories" / "fleet.flake.yml", export=True)
    assert rc == 0, err
    assert "__ansible_unsafe" not in json.dumps(stored)
    node02 = stored["_meta"]["hostvars"]["node02"]
    assert node02["ansible_host"] == fleet["node02"].address and node02["ansible_port"] == fleet["node02"].port
    assert isinstance(node02["nixos_flake"], str) and node02["nixos_flake"].startswith("path:/nix/store/")
    (tmp_path / "stored.json").write_text(json.dumps(stored))
    script = tmp_path / "awx_inventory.sh"
    script.write_text(
        "#!/bin/sh\n# the stored inventory, as an AWX job receives it\nexec cat %s\n" % (tmp_path / "stored.json")
    )
    script.chmod(0o755)

    def deploy():
        result, events = run_job(job, inventory=script)
        assert result.status == "successful", [e.get("stdout") for e in events][-30:]
        return task_results(events, "Copy and switch to the system")

    runs = [deploy(), deploy()]
    assert runs[0]["node02"]["changed"] is True and runs[0]["node01"]["changed"] is False
    assert runs[1]["node02"]["changed"] is False and runs[1]["node01"]["changed"] is False
    assert inside(fleet["node02"], "cat /run/current-system/nixos-version").strip() == "3"


def test_a_job_with_a_limit_keeps_the_report(job):
    """AWX passes a job's limit as --limit: the report still reaches the job's artifacts (from the
    copy-and-switch play, since the limit leaves localhost out of the Summary play)."""
    result, events = run_job(job, "--limit node01")
    assert result.status == "successful", [e.get("stdout") for e in events][-30:]
    stats = [e for e in events if e["event"] == "playbook_on_stats"][0]["event_data"]
    assert [row["host"] for row in stats["artifact_data"]["nixos_deploy_report"]] == ["node01"]


def test_jobs_in_fresh_pods_share_the_evaluation_cache_through_a_cache_plugin(fleet, job, tmp_path):
    """Every AWX job starts in a fresh pod (a new private data dir, an empty home): with the evaluation
    cache in an Ansible cache plugin's store on a volume both jobs mount (jsonfile), the second job of
    an unchanged flake evaluates nothing."""
    job["flake"].set_host("node01", version="5")
    rc, stored, err = inventory_list(job["project"] / "inventories" / "fleet.flake.yml", export=True)
    assert rc == 0, err
    (tmp_path / "stored.json").write_text(json.dumps(stored))
    script = tmp_path / "awx_inventory.sh"
    script.write_text("#!/bin/sh\nexec cat %s\n" % (tmp_path / "stored.json"))
    script.chmod(0o755)
    shared = tmp_path / "shared-volume"

    def fresh_pod_job(name):
        data = tmp_path / name / "private"
        shutil.copytree(str(job["data"] / "project"), str(data / "project"))
        (data / "env").mkdir()
        (data / "env" / "ssh_key").write_text(job["key"])
        group_vars = data / "project" / "inventories" / "group_vars" / "all.yml"
        settings = yaml.safe_load(group_vars.read_text())
        settings.update(
            nixos_deploy_eval_cache_plugin="ansible.builtin.jsonfile", nixos_deploy_eval_cache_connection=str(shared)
        )
        group_vars.write_text(yaml.safe_dump(settings))
        (script.parent / "group_vars").mkdir(exist_ok=True)
        (script.parent / "group_vars" / "all.yml").write_text(yaml.safe_dump(settings))
        envvars = dict(job_env(NIX_CONFIG), NIXFLEET_CACHE_DIR=str(tmp_path / name / "home-cache"))
        result = ansible_runner.run(
            private_data_dir=str(data),
            playbook="deploy.yml",
            inventory=str(script),
            cmdline="--diff",
            envvars=envvars,
            quiet=True,
        )
        events = list(result.events)
        assert result.status == "successful", [e.get("stdout") for e in events][-30:]
        return list(task_results(events, "Build every host's system with one nix build").values())[0]

    first = fresh_pod_job("job-1")
    assert first["evaluations_cached"] == [] and "eval" in first["nix_calls"]
    assert list(shared.iterdir()), "the first job left nothing in the shared cache"
    second = fresh_pod_job("job-2")
    assert second["evaluations_cached"] == HOSTS
    assert [c for c in second["nix_calls"] if c.startswith("eval")] == [], second["nix_calls"]
    assert second["paths"] == first["paths"]
    assert not (tmp_path / "job-2" / "home-cache" / "evaluations").exists()  # not the pod's own cache
