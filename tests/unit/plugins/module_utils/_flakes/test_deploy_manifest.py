"""The pre-built deploy's manifest (module_utils._flakes.deploy_manifest): written and read back, and what is refused."""

import json

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes import deploy_manifest as dm

SYSTEM = "/nix/store/0c9v2a1n4kqz0q4m2yq3d7q4wq6w9s2x-nixos-system-web-01-24.05"
DRV = "/nix/store/1c9v2a1n4kqz0q4m2yq3d7q4wq6w9s2x-nixos-system-web-01-24.05.drv"


def test_render_then_parse_is_the_same_manifest():
    manifest = dm.Manifest(
        flake="git+https://example.org/infra?rev=abc",
        rev="abc",
        cache="s3://c",
        hosts={"web-01": dm.Entry(SYSTEM, DRV), "db": dm.Entry(SYSTEM)},
    )
    text = manifest.render()
    assert dm.parse(text) == manifest
    assert list(json.loads(text)["hosts"]) == ["db", "web-01"] and text == manifest.render()  # stable


@pytest.mark.parametrize(
    "data, wrong",
    [
        ("not json", "is not JSON"),
        ({"hosts": {}}, "is not a nixfleet manifest"),
        ({"format": "nixfleet-manifest", "version": 2, "hosts": {"a": {"path": SYSTEM}}}, "has version 2"),
        ({"format": "nixfleet-manifest", "version": 1, "hosts": {}}, "lists no hosts"),
        ({"format": "nixfleet-manifest", "version": 1, "hosts": {"a": SYSTEM}}, "host a: the entry must be an object"),
        ({"format": "nixfleet-manifest", "version": 1, "hosts": {"a": {"path": "/etc/passwd"}}}, "host a: "),
        ({"format": "nixfleet-manifest", "version": 1, "hosts": {"a": {"path": SYSTEM + "/../x"}}}, "host a: "),
        (
            {"format": "nixfleet-manifest", "version": 1, "hosts": {"a": {"path": SYSTEM, "drv_path": SYSTEM}}},
            "drv_path %s is not a derivation" % SYSTEM,
        ),
        (
            {"format": "nixfleet-manifest", "version": 1, "flake": 3, "hosts": {"a": {"path": SYSTEM}}},
            "flake must be a string",
        ),
    ],
)
def test_a_malformed_manifest_is_refused_naming_what(data, wrong):
    with pytest.raises(dm.ManifestError) as caught:
        dm.parse(data if isinstance(data, str) else json.dumps(data), "m.json")
    assert wrong in str(caught.value) and "m.json" in str(caught.value)
