"""Why the inventory refuses host names with a double quote, a backslash or ``${``: one attribute
path (``attr_path``) is used both as an installable on the nix command line and inside Nix
expressions. The real Nix CLI cannot reach such names at all (no spelling is a valid installable),
and in an expression the same unescaped text means something else (escapes, interpolation); the
names the inventory accepts are reached exactly as ``attr_path`` writes them, in both places."""

import json
import subprocess

import pytest

from fleetctl import nix_env

from ansible_collections.nixfleet.nixos.plugins.module_utils._flakes.flake_inventory import attr_path, nix_string

pytestmark = pytest.mark.integration

NAMES = {"plain-1.example": 1, "it's $HOME": 2, 'a"b': 3, "c\\d": 4, "p${q}": 5}
NIX = ["nix", "--extra-experimental-features", "nix-command flakes", "eval", "--json"]


def run(argv):
    return subprocess.run(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=nix_env(), check=False
    )


@pytest.fixture
def ref(tmp_path):
    body = " ".join("%s = %d;" % (nix_string(n), v) for n, v in NAMES.items())
    (tmp_path / "flake.nix").write_text("{ outputs = _: { x = { %s }; }; }\n" % body)
    return "path:%s" % tmp_path


def cli(ref, attr):
    return run(NIX + ["%s#%s" % (ref, attr)])


def expression(ref, attr):
    return run(NIX + ["--impure", "--expr", "(builtins.getFlake %s).%s" % (nix_string(ref), attr)])


def test_accepted_names_are_reached_both_ways(ref):
    for name in ("plain-1.example", "it's $HOME"):
        attr = attr_path("x", name)
        for proc in (cli(ref, attr), expression(ref, attr)):
            assert proc.returncode == 0 and json.loads(proc.stdout) == NAMES[name], proc.stderr


def test_refused_names_cannot_be_one_attribute_path(ref):
    for name in ('a"b', "c\\d"):
        raw = 'x."%s"' % name
        escaped = "x.%s" % nix_string(name)
        for spelling in (raw, escaped):
            assert cli(ref, spelling).returncode != 0  # no installable reaches it
        assert json.loads(expression(ref, escaped).stdout) == NAMES[name]  # only an escaped expression does
        assert expression(ref, raw).stdout.strip() != str(NAMES[name])
    assert expression(ref, 'x."p${q}"').returncode != 0  # the raw text interpolates in an expression
    for name in NAMES:
        if name not in ("plain-1.example", "it's $HOME"):
            with pytest.raises(ValueError):
                attr_path("x", name)
