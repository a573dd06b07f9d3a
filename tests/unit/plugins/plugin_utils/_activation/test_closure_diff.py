"""closure_diff (plugins/plugin_utils/_activation/closure_diff.py): the package diff of a switch, on the
target between the real closures when the new system is there, else on the controller between the two
systems' derivations, or a sentence saying why there is none; derivation diffs read the same on Nix 2.8
and 2.34 (whose shapes differ)."""

from typing import List, Union

from ansible_collections.nixfleet.nixos.plugins.module_utils._nix.errors import NixError
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._nix.nix_cli import NixCli
from ansible_collections.nixfleet.nixos.plugins.plugin_utils._activation.closure_diff import (
    closure_diff,
    versions_without_drv,
)

from action_harness import ActionShell, said


def test_derivation_diffs_read_the_same_on_every_nix():
    # nix store diff-closures of two .drv files, as Nix 2.34 prints it (2.8 prints no ".drv").
    assert (
        versions_without_drv("nixos-system-node02: 1.drv → 2.drv\nbase: ∅ → 1.drv, 2.drv\n")
        == "nixos-system-node02: 1 → 2\nbase: ∅ → 1, 2\n"
    )


OLD = "/nix/store/vsp9a6ydyqvbnv7majfxkyl0vjdjwlxq-nixos-system-web-1"
NEW = "/nix/store/fdbsdqh96xcdfvxizjzr90dqy2v5d87k-nixos-system-web-2"
OLD_DRV, NEW_DRV = OLD + ".drv", NEW + ".drv"
DIFF = "diff-closures"


class ControllerNix(NixCli):
    """The controller's store: ``derivers`` of the systems it has; ``diff`` what diff-closures prints
    (a NixError: it fails). No Nix process runs."""

    def __init__(self, derivers=None, diff: Union[str, NixError] = "") -> None:
        super().__init__(runner=None)
        self.derivers, self.diff = derivers or {}, diff
        self.asked: List[tuple] = []

    def path_info(
        self, paths, store=None, recursive=False, env=None, host=None, fresh_narinfo=False, closure_size=False
    ):
        self.asked.append(("path-info", list(paths)))
        return {p: ({"deriver": self.derivers[p]} if p in self.derivers else None) for p in paths}

    def diff_closures(self, before, after):
        self.asked.append(("diff-closures", before, after))
        if isinstance(self.diff, NixError):
            raise self.diff
        return self.diff


def test_a_host_running_nothing_yet_has_no_diff():
    assert closure_diff(ActionShell(), ControllerNix(), None, NEW, NEW_DRV, True) == "no system is running yet"


def test_on_the_target_the_real_closures_are_diffed_as_the_login_user():
    shell = ActionShell(commands={DIFF: said(0, "firefox: 120.0 → 121.0, +1.2 MiB\n")})
    nix = ControllerNix()
    assert closure_diff(shell, nix, OLD, NEW, NEW_DRV, True) == "firefox: 120.0 → 121.0, +1.2 MiB\n"
    assert shell.texts == ["nix --extra-experimental-features nix-command store diff-closures %s %s" % (OLD, NEW)]
    assert shell.performed == [(DIFF, False)] and nix.asked == []
    same = ActionShell(commands={DIFF: said(0, "")})
    assert closure_diff(same, nix, OLD, NEW, NEW_DRV, True) == "(the closures have the same packages)\n"


def test_elsewhere_the_derivations_are_diffed_on_the_controller():
    nix = ControllerNix({OLD: OLD_DRV}, "firefox: 120.0.drv → 121.0.drv\n")
    shell = ActionShell()
    assert closure_diff(shell, nix, OLD, NEW, NEW_DRV, False) == (
        "derivations (not built in check mode):\nfirefox: 120.0 → 121.0\n"
    )
    assert nix.asked == [("path-info", [OLD]), ("diff-closures", OLD_DRV, NEW_DRV)] and shell.performed == []
    # a diff on the target that fails falls back to the controller's
    failing = ActionShell(commands={DIFF: said(1, "", "error: experimental Nix feature disabled\n")})
    assert closure_diff(failing, nix, OLD, NEW, NEW_DRV, True).startswith("derivations (not built in check mode):\n")


def test_when_no_diff_can_be_made_it_says_why():
    shell = ActionShell()
    assert closure_diff(shell, ControllerNix(), OLD, NEW, None, False) == (
        "(no closure diff: %s is not on the target and its derivation is unknown)\n" % NEW
    )
    assert closure_diff(shell, ControllerNix(), OLD, NEW, NEW_DRV, False) == (
        "(no closure diff: the controller does not have the running system %s)\n" % OLD
    )
    broken = ControllerNix({OLD: OLD_DRV}, NixError("nix store diff-closures failed"))
    assert (
        closure_diff(shell, broken, OLD, NEW, NEW_DRV, False) == "(no closure diff: nix store diff-closures failed)\n"
    )
