import os
import subprocess

from ansible_collections.nixfleet.nixos.plugins.module_utils._lifecycle.generations import (
    Generation,
    ProfileState,
    generation_link,
    parse_generation_link,
    parse_probe,
    probe_command,
)

A = "/nix/store/fdbsdqh96xcdfvxizjzr90dqy2v5d87k-nixos-system-node01-1"
B = "/nix/store/vsp9a6ydyqvbnv7majfxkyl0vjdjwlxq-nixos-system-node01-2"
C = "/nix/store/zwacaz7vpafxs4xddarwmsr43yhb5ggw-nixos-system-node01-3"
P = "/nix/var/nix/profiles/system"


def test_links():
    assert generation_link(P, 3) == "/nix/var/nix/profiles/system-3-link"
    assert parse_generation_link(P, "system-12-link") == 12
    assert parse_generation_link(P, "/nix/var/nix/profiles/system-2-link") == 2
    assert parse_generation_link(P, "system-profiles") is None
    assert parse_generation_link(P, "systemx-2-link") is None
    assert parse_generation_link(P, "system-foo-2-link") is None


PROBE_OUTPUT = "\n".join(
    [
        "profile\tsystem-2-link",
        "generation\tsystem-1-link\t%s\t1700000000" % A,
        "generation\tsystem-3-link\t%s\t1700000300" % C,
        "generation\tsystem-2-link\t%s\t1700000200" % B,
        "generation\tsystem-foo-9-link\t/nix/store/x\t1",
        "running\t%s" % C,
        "booted\t%s" % A,
        "running_kernel\t/nix/store/k2-linux-6.7/bzImage",
        "booted_kernel\t/nix/store/k1-linux-6.6/bzImage",
        "systemd\tno",
        "nix_version\tnix-env (Nix) 2.8.0",
    ]
)


def test_parse_probe():
    st = parse_probe(P, PROBE_OUTPUT)
    assert [g.number for g in st.generations] == [1, 2, 3]
    assert st.current == Generation(2, B, 1700000200, True)
    assert st.profile_path == B
    previous = st.previous()
    assert previous is not None and previous.number == 1
    assert st.running_system == C and st.booted_system == A
    assert st.needs_reboot is True
    assert st.has_systemd is False
    assert st.nix_version == "2.8.0"
    facts = st.to_facts()
    assert facts["current_generation"] == 2
    assert [g["current"] for g in facts["generations"]] == [False, True, False]


def test_fresh_host_has_nothing():
    st = parse_probe(P, "profile\t\nrunning\t\nbooted\t\nrunning_kernel\t\nbooted_kernel\t\nsystemd\tyes\n")
    assert st.generations == () and st.current is None and st.previous() is None
    assert st.running_system is None and st.needs_reboot is False and st.has_systemd


def test_same_kernel_needs_no_reboot():
    st = ProfileState(P, running_kernel="/nix/store/k-linux/bzImage", booted_kernel="/nix/store/k-linux/bzImage")
    assert st.needs_reboot is False


def test_probe_command_runs_in_plain_sh(tmp_path):
    """The probe is a POSIX sh one-liner: run it with dash on a real profile directory."""
    profile = tmp_path / "system"
    for n, target in ((1, A), (2, B)):
        os.symlink(target, str(tmp_path / ("system-%d-link" % n)))
    os.symlink("system-2-link", str(profile))
    os.symlink("/nowhere", str(tmp_path / "system-profiles-1-link"))
    out = subprocess.run(
        ["/bin/sh", "-c", probe_command(str(profile)).text], stdout=subprocess.PIPE, universal_newlines=True, check=True
    ).stdout
    st = parse_probe(str(profile), out)
    assert [(g.number, g.path) for g in st.generations] == [(1, A), (2, B)]
    assert st.current_number == 2
    assert all(isinstance(g.date, int) for g in st.generations)
