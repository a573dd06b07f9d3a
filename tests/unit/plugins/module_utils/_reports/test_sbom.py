"""The SBOM's pieces against Nix itself: NAR hashes in both of Nix's notations against the NAR's own
sha256 (``nix-store --dump | sha256sum``), names and versions as Nix splits them, the document's shape
(validated against the CycloneDX 1.6 schema by cyclonedx-python-lib, not by our own check)."""

import hashlib
import json
import subprocess

from typing import Any, Dict, Optional

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from ansible_collections.nixfleet.nixos.plugins.module_utils._reports import sbom as sb
from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.nix_argv import parse_path_info


def nix(*argv):
    return subprocess.run(list(argv), stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout.strip()


@pytest.mark.host_tools
def test_nar_hashes_in_both_notations_are_the_nars_sha256(tmp_path):
    (tmp_path / "f.txt").write_text("nixfleet sbom test\n")
    path = nix("nix-store", "--add", str(tmp_path / "f.txt"))
    dumped = subprocess.run(["nix-store", "--dump", path], stdout=subprocess.PIPE, check=True).stdout
    want = hashlib.sha256(dumped).hexdigest()
    assert sb.sha256_hex(nix("nix-store", "-q", "--hash", path)) == want  # sha256:<nix base-32>
    listed = nix("nix", "--extra-experimental-features", "nix-command", "path-info", "--json", path)
    sri = (parse_path_info(listed)[path] or {}).get("narHash", "")
    assert sri.startswith("sha256-") and sb.sha256_hex(sri) == want
    assert sb.sha256_hex("sha256:" + want) == want
    with pytest.raises(sb.SbomError):
        sb.sha256_hex("md5:abc")
    with pytest.raises(sb.SbomError):
        sb.nix32_decode("eeee")  # e is not in Nix's alphabet


INFOS: Dict[str, Optional[Dict[str, Any]]] = {
    "/nix/store/2mb7x5vvd0zcxi5ypcbrrvqj2wgf2fqf-nixos-system-web-01-24.05": {
        "narHash": "sha256-HDfQGvQL4ugGkd48w99EN3ppmvuxfGjwgJZLL9Bx/BM=",
        "narSize": 120,
        "references": [
            "/nix/store/9zq0dz3hy6m5h0vsaxk1aw0v4rf2vhhz-openssl-3.0.14",
            "/nix/store/2mb7x5vvd0zcxi5ypcbrrvqj2wgf2fqf-nixos-system-web-01-24.05",
        ],
        "deriver": "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-web-01-24.05.drv",
    },
    "/nix/store/9zq0dz3hy6m5h0vsaxk1aw0v4rf2vhhz-openssl-3.0.14": {
        "narHash": "sha256-HDfQGvQL4ugGkd48w99EN3ppmvuxfGjwgJZLL9Bx/BM=",
        "narSize": 5,
        "references": [],
    },
}
SYSTEM = "/nix/store/2mb7x5vvd0zcxi5ypcbrrvqj2wgf2fqf-nixos-system-web-01-24.05"


def test_a_bom_validates_against_cyclonedx_1_6():
    bom = sb.sbom(
        SYSTEM, INFOS, "web-01", flake="git+file:///infra?rev=abc", rev="abc", timestamp="2026-12-01T00:00:00Z"
    )
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(bom))
    assert errors is None, errors
    subject = bom["metadata"]["component"]
    # Nix's own split (parseDrvName: the version starts at the first "-" followed by a digit).
    assert (subject["name"], subject["version"], subject["type"]) == (
        "nixos-system-web",
        "01-24.05",
        "operating-system",
    )
    openssl = bom["components"][0]
    assert (openssl["name"], openssl["version"], openssl["purl"]) == ("openssl", "3.0.14", "pkg:nix/openssl@3.0.14")
    assert {"name": "nixfleet:flake_rev", "value": "abc"} in subject["properties"]
    assert {d["ref"]: d["dependsOn"] for d in bom["dependencies"]}[SYSTEM] == [
        "/nix/store/9zq0dz3hy6m5h0vsaxk1aw0v4rf2vhhz-openssl-3.0.14"
    ]  # itself left out
    again = sb.sbom(
        SYSTEM, INFOS, "web-01", flake="git+file:///infra?rev=abc", rev="abc", timestamp="2026-12-02T00:00:00Z"
    )
    assert sb.same_bom(bom, again) and bom["serialNumber"] != again["serialNumber"]
    with pytest.raises(sb.SbomError, match="not complete"):
        sb.sbom(SYSTEM, dict(INFOS, **{"/nix/store/9zq0dz3hy6m5h0vsaxk1aw0v4rf2vhhz-openssl-3.0.14": None}), "web-01")
