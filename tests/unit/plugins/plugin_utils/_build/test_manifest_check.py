"""plugin_utils/_build/manifest_check.py: a pre-built deploy's manifest checked against a binary cache by the
real Nix: a real file:// cache on this machine, systems signed with a real key or not at all."""

import json
import subprocess

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes import deploy_manifest as dm
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._build import manifest_check as mc
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli

EXPR = """let
  system = name: switch: derivation {
    inherit name; system = "x86_64-linux"; builder = "/bin/sh";
    args = [ "-c" "/bin/mkdir -p $out/bin && ${if switch then "echo > $out/bin/switch-to-configuration" else "true"}" ];
  };
in { web = system "nixos-system-mc-web" true; db = system "not-a-system-mc-db" false;
     api = system "nixos-system-mc-api" true; gone = system "nixos-system-mc-gone" true; }"""


def nix(*words):
    return subprocess.run(
        ["nix"] + list(words), check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    ).stdout.decode()


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A file:// cache holding web and db (signed by ``key``) and api (unsigned); gone is built but
    not in the cache."""
    root = tmp_path_factory.mktemp("cache")
    subprocess.run(
        ["nix-store", "--generate-binary-cache-key", "unit-cache-1", str(root / "sk"), str(root / "pk")], check=True
    )
    built = json.loads(
        nix("build", "--no-link", "--json", "--impure", "--expr", "with (%s); [ web db api gone ]" % EXPR)
    )
    outs = [b["outputs"]["out"] for b in built]
    path = {name: next(o for o in outs if o.endswith("-mc-" + name)) for name in ("web", "db", "api", "gone")}
    url = "file://%s" % (root / "store")
    nix("store", "sign", "--key-file", str(root / "sk"), path["web"], path["db"])
    nix("copy", "--to", url, path["web"], path["db"])
    subprocess.run(
        ["nix", "copy", "--to", url + "?compression=none", path["api"]], check=True, stderr=subprocess.DEVNULL
    )
    return {"url": url, "key": (root / "pk").read_text().strip(), "path": path, "root": root}


def manifest(paths):
    return dm.Manifest(flake="", rev=None, cache=None, hosts={h: dm.Entry(p) for h, p in paths.items()})


@pytest.mark.host_tools
def test_signed_nixos_systems_pass_and_each_refusal_says_why(cache):
    p, url = cache["path"], cache["url"]
    wanted = {"web": p["web"], "db": p["db"], "api": p["api"], "gone": p["gone"]}
    report = mc.systems(
        NixCli(),
        manifest(wanted),
        "m.json",
        ["web", "db", "api", "gone", "extra"],
        ["web", "db", "api", "gone", "extra"],
        url,
        [cache["key"]],
    )
    assert report.paths == {"web": p["web"]}
    assert report.failed["gone"] == "manifest entry %s of gone refused: it is not in the cache %s" % (p["gone"], url)
    assert report.failed["db"] == "manifest entry %s of db refused: it is not a NixOS system (no %s)" % (
        p["db"],
        mc.SWITCH,
    )
    assert report.failed["api"].startswith(
        "manifest entry %s of api refused: its closure is not signed by any of the trusted keys" % p["api"]
    )
    assert report.failed["extra"] == "extra is not in manifest m.json"
    assert report.nix_calls[:2] == ["path-info", "store verify"]
    assert report.nix_calls.count("store verify") == 1 + 4  # all at once failed: then one each


@pytest.mark.host_tools
def test_all_signed_needs_one_verify(cache):
    p = cache["path"]
    report = mc.systems(NixCli(), manifest({"web": p["web"]}), "m.json", ["web"], ["web"], cache["url"], [cache["key"]])
    assert report.paths == {"web": p["web"]} and report.failed == {}
    assert report.nix_calls == ["path-info", "store verify", "store ls"]


@pytest.mark.host_tools
def test_another_key_refuses_a_signed_system(cache):
    other = cache["root"] / "other"
    subprocess.run(
        ["nix-store", "--generate-binary-cache-key", "other-1", str(other) + ".sk", str(other) + ".pk"], check=True
    )
    p = cache["path"]
    report = mc.systems(
        NixCli(),
        manifest({"web": p["web"]}),
        "m.json",
        ["web"],
        ["web"],
        cache["url"],
        [(cache["root"] / "other.pk").read_text().strip()],
    )
    assert report.paths == {} and "is not signed by any of the trusted keys" in report.failed["web"]


def fail_nix():
    class NoNix:
        def __getattr__(self, name):
            raise AssertionError("Nix was called: %s" % name)

    return NoNix()


WEB = "/nix/store/%s-nixos-system-web" % ("a" * 32)


@pytest.mark.parametrize(
    "inventory, keys, cache_url, message",
    [
        (
            ["db"],
            ["k:x"],
            "file:///c",
            "manifest m.json names hosts that are not in the inventory: web; nothing was deployed",
        ),
        (["web"], [], "file:///c", "a manifest deploy needs the public keys"),
        (["web"], ["k:x"], "ftp://c", "is not a store URL Nix understands"),
    ],
)
def test_a_manifest_that_cannot_be_used_deploys_nothing_and_runs_no_nix(inventory, keys, cache_url, message):
    with pytest.raises(NixError) as caught:
        mc.systems(fail_nix(), manifest({"web": WEB}), "m.json", ["web"], inventory, cache_url, keys)
    assert message in str(caught.value)


def test_hosts_outside_the_manifest_only_fail_themselves():
    report = mc.systems(fail_nix(), manifest({"web": WEB}), "m.json", ["db"], ["web", "db"], "file:///c", ["k:x"])
    assert report.failed == {"db": "db is not in manifest m.json"} and report.nix_calls == []


def test_load_reads_and_refuses(tmp_path):
    good = tmp_path / "m.json"
    good.write_text(manifest({"web": WEB}).render())
    assert mc.load(str(good)).hosts == {"web": dm.Entry(WEB)}
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(NixError) as caught:
        mc.load(str(tmp_path / "bad.json"))
    assert "is not a nixfleet manifest" in str(caught.value) and str(caught.value).endswith("; nothing was deployed")
    with pytest.raises(NixError) as missing:
        mc.load(str(tmp_path / "none.json"))
    assert "cannot be read" in str(missing.value)
