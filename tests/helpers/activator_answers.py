"""Canned answers of a NixOS target to ``Activator``'s operations (the state probe, the launch), as the
real commands print them, and an ``Activator`` on a target that gives them (tests/helpers/fake_shell.py)."""

from dataclasses import replace

from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.activation import Activator
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.activation_models import Safety

from fake_shell import OperationShell, said

OLD = "/nix/store/vsp9a6ydyqvbnv7majfxkyl0vjdjwlxq-nixos-system-web-1"
NEW = "/nix/store/fdbsdqh96xcdfvxizjzr90dqy2v5d87k-nixos-system-web-2"
PROFILE = "/nix/var/nix/profiles/system"


def probe(current=1, running=OLD, generations=((1, OLD),), present=0):
    """What the state probe prints (with the toplevel check's exit code as ``present``)."""
    lines = ["profile\tsystem-%d-link" % current if current else "profile\t"]
    lines += ["generation\tsystem-%d-link\t%s\t100" % (n, p) for n, p in generations]
    lines += ["running\t%s" % (running or ""), "systemd\tno", "present\t%d" % present]
    return said(0, "\n".join(lines) + "\n")


AFTER = probe(2, NEW, ((1, OLD), (2, NEW)))


def launched(rc, status="", holder="", output="activating the configuration...\n", stderr=""):
    return said(rc, "%snixfleet-status\t%s\nnixfleet-holder\t%s\n" % (output, status, holder), stderr)


def activator(answers, magic_rollback=False):
    shell = OperationShell(answers)
    safety = Safety(magic_rollback=magic_rollback, confirm_timeout=1, lock_timeout=3, poll_interval=0.01)
    return shell, Activator(shell, PROFILE, shell, safety)


def switch_as_the_action_does(a, request, fetch=None, ready=None):
    """The activator's phases in the order plugins/action/switch.py runs them: probe, the copy
    (``fetch``) when the probe finds the system missing, then the keys (``ready``) once it is there,
    transact and confirm."""
    plan = a.plan(replace(request, copies=fetch is not None))
    if fetch is not None and plan.needs_copy:
        fetch()
        plan = a.after_copy(plan)
    prepared = a.prepare(plan)
    if ready is not None:
        ready()
    return a.activate(prepared)
