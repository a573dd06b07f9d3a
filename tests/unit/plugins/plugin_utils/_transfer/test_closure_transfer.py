"""closure_transfer (plugins/plugin_utils/_transfer/closure_transfer.py): how a closure reaches a host —
pushed over ssh (behind the host's copy lock), substituted there first, built there from its derivation,
or fetched by the host from a binary cache — and what a failed transfer says. The target answers by a
needle of each command (tests/helpers/action_harness.py's ActionShell); the real NixCli builds each
``nix copy`` command line, which tests/helpers/recorded_copies.py records and answers."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._remote.ssh_target import SshTarget
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._transfer import closure_transfer as ct

from action_harness import ActionShell, said
from recorded_copies import RecordedCopies

SYSTEM = "/nix/store/fdbsdqh96xcdfvxizjzr90dqy2v5d87k-nixos-system-web-2"
DRV = "/nix/store/0hxb6g0g9n6is6vmy325k8kpl8k5h3bd-nixos-system-web-2.drv"
TARGET = SshTarget("127.0.0.1", user="root", name="web")
VALIDITY = "--check-validity"  # the needle of is_valid's command


def target():
    return TARGET


def host(valid, **commands):
    """A host where SYSTEM is valid (or not: a list, one answer after another) and other commands answer."""
    answers = {VALIDITY: [said(0 if v else 1) for v in valid] if isinstance(valid, list) else said(0 if valid else 1)}
    answers.update(commands)
    return ActionShell(commands=answers)


@pytest.mark.parametrize(
    "transfer, message",
    [
        (ct.Transfer(lock_timeout=-1), "copy_lock_timeout must be >= 0 seconds, not -1"),
        (ct.Transfer(stall_timeout=-5), "copy_stall_timeout must be >= 0 seconds (0: no limit), not -5"),
        (ct.Transfer(mode="cache"), "mode=cache needs cache_url (the binary cache the target pulls from)"),
        (ct.Transfer(mode="cache", cache_url="https://a https://b"), "cache_url: 'https://a https://b' is not a store"),
        (ct.Transfer(from_store="gopher://x"), "from_store: 'gopher://x' is not a store URL Nix understands"),
    ],
)
def test_a_transfer_that_cannot_work_is_refused_before_the_host_is_asked(transfer, message):
    shell = host(False)
    nix = RecordedCopies()
    with pytest.raises(Exception) as caught:
        ct.ensure(shell, SYSTEM, transfer, nix.nix, target)
    assert message in str(caught.value)
    assert shell.performed == [] and nix.copies == []


def test_building_on_the_target_is_not_pulled_from_a_cache():
    with pytest.raises(NixError, match="a system built on the target is not pulled from a cache") as caught:
        ct.check(ct.Transfer(mode="cache", cache_url="https://cache.example"), DRV, "web")
    assert caught.value.host == "web"
    ct.check(ct.Transfer(mode="substitute"), DRV, "web")  # pushed derivations: fine


def test_the_derivation_to_build_on_the_target_must_be_given_and_a_store_path():
    assert ct.build_source(False, None) is None and ct.build_source(False, "garbage") is None
    assert ct.build_source(True, DRV) == DRV
    with pytest.raises(NixError, match="build_on_target needs drv_path"):
        ct.build_source(True, None)
    with pytest.raises(ValueError, match="^drv_path: "):
        ct.build_source(True, "/etc/passwd")


def test_a_system_the_host_has_is_not_copied():
    shell, nix = host(True), RecordedCopies()
    assert ct.ensure(shell, SYSTEM, ct.Transfer(), nix.nix, target) is False
    assert nix.copies == [] and shell.performed == [(VALIDITY, False)]  # asked as the login user
    # the running system counts as valid without a nix-store process
    assert shell.texts[0].startswith('[ "$(readlink /run/current-system 2>/dev/null)" = %s ] || ' % SYSTEM)


def test_check_mode_says_a_missing_system_would_be_copied_and_copies_nothing():
    shell, nix = host(False), RecordedCopies()
    assert ct.ensure(shell, SYSTEM, ct.Transfer(), nix.nix, target, check_mode=True) is True
    assert nix.copies == []


def test_a_missing_system_is_pushed_to_the_host_behind_its_copy_lock():
    shell, nix = host(False), RecordedCopies()
    assert ct.ensure(shell, SYSTEM, ct.Transfer(), nix.nix, target) is True
    words = nix.words()
    assert words[:2] == ["nix", "copy"] and words[-1] == SYSTEM
    assert nix.destination() == "ssh-ng://root@127.0.0.1"
    query = words[words.index("--to") + 1].split("?", 1)[1]
    assert query.startswith("remote-program=")  # the locking wrapper runs the host's nix-daemon
    assert "--no-check-sigs" in words and "--substitute-on-destination" not in words and "--derivation" not in words
    assert "BatchMode=yes" in nix.copies[0]["env"]["NIX_SSHOPTS"]
    assert shell.performed == [(VALIDITY, False)]  # a push is valid once nix copy succeeds


def test_substitute_mode_lets_the_host_fetch_what_it_can_from_the_cache_first():
    shell, nix = host(False), RecordedCopies()
    transfer = ct.Transfer(mode="substitute", cache_url="https://cache.example", check_sigs=True)
    ct.ensure(shell, SYSTEM, transfer, nix.nix, target)
    words = nix.words()
    assert "--substitute-on-destination" in words and "--no-check-sigs" not in words
    assert words[words.index("extra-substituters") + 1] == "https://cache.example"


def test_a_system_built_on_the_target_pushes_its_derivation_then_realises_it():
    realised = said(0, SYSTEM + "\n")
    shell, nix = host(False, **{"nix-store --realise": realised}), RecordedCopies()
    assert ct.ensure(shell, SYSTEM, ct.Transfer(), nix.nix, target, build_from=DRV) is True
    assert nix.words()[-1] == DRV and "--derivation" in nix.words()
    assert shell.names() == [VALIDITY, "nix-store --realise"]
    assert shell.texts[-1] == "nix-store --realise %s" % DRV and shell.performed[-1][1] is True


@pytest.mark.parametrize(
    "answer, message",
    [
        (said(1, "", "error: builder failed\n"), "building %s on the target failed; nothing was switched" % DRV),
        (
            said(0, "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-other\n"),
            "gave /nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-other, not %s" % SYSTEM,
        ),
        (said(0, ""), "gave nothing, not %s" % SYSTEM),
    ],
)
def test_a_build_on_the_target_that_fails_or_gives_another_system_is_an_error(answer, message):
    shell, nix = host(False, **{"nix-store --realise": answer}), RecordedCopies()
    with pytest.raises(NixError) as caught:
        ct.ensure(shell, SYSTEM, ct.Transfer(), nix.nix, target, build_from=DRV)
    assert message in str(caught.value) and caught.value.host == "web"


def test_cache_mode_has_the_host_fetch_the_system_and_checks_it_arrived():
    fetched = said(0, SYSTEM + "\n")
    shell, nix = host([False, True], **{"nix-store --realise": fetched}), RecordedCopies()
    transfer = ct.Transfer(mode="cache", cache_url="https://cache.example")
    assert ct.ensure(shell, SYSTEM, transfer, nix.nix, target) is True
    assert nix.copies == []  # nothing goes through the controller
    assert shell.names() == [VALIDITY, "nix-store --realise", VALIDITY]
    assert "--option substituters https://cache.example" in shell.texts[1]
    # a cache that hands out less than asked for
    shell = host([False, False], **{"nix-store --realise": fetched})
    with pytest.raises(NixError, match="%s is still not valid on the target after the copy" % SYSTEM):
        ct.ensure(shell, SYSTEM, transfer, nix.nix, target)


def test_a_fetch_of_unsigned_paths_says_which_key_the_host_lacks():
    refused = said(1, "", "warning: ignoring substitute for '%s', as it's not signed by any of the keys\n" % SYSTEM)
    shell = host(False, **{"nix-store --realise": refused})
    with pytest.raises(NixError) as caught:
        ct.fetch(shell, SYSTEM, "https://cache.example")
    assert caught.value.message.startswith(
        "web refused %s from https://cache.example: it is not signed by any key in the host's "
        "trusted-public-keys. Add the cache's public key there" % SYSTEM
    )
    shell = host(False, **{"nix-store --realise": said(1, "", "error: no route\n")})
    with pytest.raises(NixError, match="fetching %s from https://cache.example failed" % SYSTEM):
        ct.fetch(shell, SYSTEM, "https://cache.example")


def push_failing(stderr, user="root"):
    nix = RecordedCopies(rc=1, stderr=stderr)
    with pytest.raises(NixError) as caught:
        ct.push(nix.nix, SshTarget("127.0.0.1", user=user, name="web"), [SYSTEM], ct.Transfer())
    return caught.value


def test_a_copy_that_waited_too_long_for_the_lock_says_nothing_was_copied():
    error = push_failing("nixfleet: another copy to this host held the lock for 60s (alice pid 7)\n")
    assert (
        error.message == "another copy to this host held the lock for 60s (alice pid 7); nothing was copied or switched"
    )
    assert error.host == "web"


def test_an_untrusted_user_pushing_unsigned_paths_is_told_both_ways_out():
    error = push_failing(
        "error: cannot add path '%s' because it lacks a signature by a trusted key\n" % SYSTEM, "deploy"
    )
    assert error.message.startswith("the host's Nix does not trust deploy (it is not in trusted-users)")
    assert "nix store sign --key-file KEY --recursive PATH" in error.message and error.message.endswith(
        "add deploy to the host's trusted-users (nixfleet.nixos.nix_conf trusted_users; on NixOS "
        "nix.settings.trusted-users); nothing was switched"
    )


@pytest.mark.parametrize(
    "stderr",
    [
        "error: Nix daemon disconnected unexpectedly\n",
        "error: cannot connect to socket at '/nix/var/nix/daemon-socket/socket'\n",
    ],
)
def test_a_host_without_a_nix_daemon_is_named(stderr):
    error = push_failing(stderr, "deploy")
    assert error.message.startswith(
        "the copy logged in as deploy, but Nix there could not talk to the host's nix-daemon"
    )


def test_an_unreachable_host_is_marked_unreachable_and_other_errors_stay_nixs():
    unreachable = push_failing("error: cannot open connection to remote store 'ssh-ng://root@127.0.0.1'\n")
    assert unreachable.unreachable is True
    other = push_failing("error: disk full\n")
    assert not getattr(other, "unreachable", False) and "disk full" in other.stderr


def test_a_push_from_another_ssh_store_shares_no_master_connection():
    nix = RecordedCopies()
    ct.push(nix.nix, TARGET, [SYSTEM], ct.Transfer(from_store="ssh-ng://builder"))
    ct.push(nix.nix, TARGET, [SYSTEM], ct.Transfer())
    from_builder, from_here = (str(c["env"]["NIX_SSHOPTS"]) for c in nix.copies)
    assert "-o ControlMaster=no -o ControlPath=none" in from_builder
    assert "ControlPath=none" not in from_here
    assert nix.words(0)[nix.words(0).index("--from") + 1] == "ssh-ng://builder"
