"""plugins/action/cache_push.py with the real Nix and a local file:// binary cache: the paths the cache
lacks are signed (when a key is given) and pushed in one nix copy, a second run pushes nothing, check mode
pushes nothing, and a bad path or URL is refused before Nix runs."""

import base64
import subprocess

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from action_harness import RecordingNix, run_action


def add_to_store(directory, name, text):
    (directory / name).mkdir()
    (directory / name / "file").write_text(text)
    return subprocess.run(
        ["nix-store", "--add", str(directory / name)], stdout=subprocess.PIPE, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def paths(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    return [add_to_store(source, "push-a", "a %s" % tmp_path), add_to_store(source, "push-b", "b %s" % tmp_path)]


def narinfo(cache, path):
    """The cache's .narinfo of ``path`` as a dict (None when it lacks it)."""
    hash_part = path.split("/")[-1].split("-", 1)[0]
    found = cache / ("%s.narinfo" % hash_part)
    if not found.exists():
        return None
    return dict(line.split(": ", 1) for line in found.read_text().splitlines() if ": " in line)


@pytest.mark.host_tools
def test_the_missing_paths_are_pushed_once_and_a_second_run_changes_nothing(tmp_path, paths):
    cache = tmp_path / "cache"
    url = "file://%s" % cache
    nix = RecordingNix()
    result = run_action("cache_push", {"paths": paths + [paths[0]], "to": url}, nix=nix)
    assert not result.get("failed"), result
    assert result["changed"] is True and result["url"] == url and result["signed_by"] is None
    assert result["paths"] == sorted(paths) and result["pushed"] == sorted(paths)  # each once
    assert all(narinfo(cache, p) is not None for p in paths)
    assert nix.subcommands() == [
        "path-info",
        "path-info",
    ]  # what the cache lacks; then that it has it (nix copy between)
    again = RecordingNix()
    second = run_action("cache_push", {"paths": paths, "to": url}, nix=again)
    assert (second["changed"], second["pushed"]) == (False, []) and again.subcommands() == ["path-info"]


@pytest.mark.host_tools
def test_check_mode_says_what_would_be_pushed_and_pushes_nothing(tmp_path, paths):
    cache = tmp_path / "cache"
    nix = RecordingNix()
    result = run_action("cache_push", {"paths": paths, "to": "file://%s" % cache}, nix=nix, check_mode=True)
    assert result["changed"] is True and result["pushed"] == sorted(paths)
    assert nix.subcommands() == ["path-info"] and all(narinfo(cache, p) is None for p in paths)


@pytest.mark.host_tools
def test_with_a_secret_key_the_pushed_paths_carry_its_signature(tmp_path, paths):
    secret, public = tmp_path / "cache.sec", tmp_path / "cache.pub"
    subprocess.run(["nix-store", "--generate-binary-cache-key", "unit-cache-1", str(secret), str(public)], check=True)
    cache = tmp_path / "cache"
    result = run_action(
        "cache_push",
        {"paths": paths[:1], "to": "file://%s" % cache, "secret_key_file": str(secret)},
        nix=RecordingNix(),
    )
    assert not result.get("failed"), result
    assert result["signed_by"] == "unit-cache-1"
    signature = narinfo(cache, paths[0])["Sig"]
    assert signature.startswith("unit-cache-1:")
    # the signature holds under the public key, over Nix's fingerprint of the path (checked with cryptography)
    info = narinfo(cache, paths[0])
    references = ",".join("/nix/store/" + r for r in info.get("References", "").split())
    fingerprint = "1;%s;%s;%s;%s" % (paths[0], info["NarHash"], info["NarSize"], references)
    name, key = public.read_text().strip().split(":", 1)
    assert name == "unit-cache-1"
    Ed25519PublicKey.from_public_bytes(base64.b64decode(key)).verify(
        base64.b64decode(signature.split(":", 1)[1]), fingerprint.encode()
    )


@pytest.mark.parametrize(
    "args, message",
    [
        ({"paths": ["/etc/passwd"], "to": "file:///tmp/c"}, "paths: "),
        ({"paths": ["/nix/store/%s-x" % ("a" * 32)], "to": "s3://a b"}, "to: 's3://a b' is not a store URL"),
        ({"paths": ["/nix/store/%s-x" % ("a" * 32)], "to": "gopher://x"}, "is not a store URL Nix understands"),
    ],
)
def test_bad_paths_or_urls_are_refused_before_nix_runs(args, message):
    def no_nix(options):
        raise AssertionError("Nix was called")

    result = run_action("cache_push", args, nix=no_nix)
    assert result["failed"] is True and message in result["msg"] and result["msg"].endswith("; nothing was pushed")


def test_a_secret_key_file_that_is_no_key_is_named(tmp_path):
    bad = tmp_path / "bad.sec"
    bad.write_text("not a key\n")

    def no_nix(options):
        raise AssertionError("Nix was called")

    result = run_action(
        "cache_push",
        {"paths": ["/nix/store/%s-x" % ("a" * 32)], "to": "file:///tmp/c", "secret_key_file": str(bad)},
        nix=no_nix,
    )
    assert result["failed"] is True and str(bad) in result["msg"] and "not a key" not in result["msg"]
