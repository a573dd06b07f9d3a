"""How the tests' own Nix runs on this machine: offline (no substituter), flakes on, and builds as
root without a sandbox or a nixbld group (Debian's nix-bin makes none). scripts/env.sh sets the same
for the shell; tests/conftest.py sets it where the environment lacks it (``ansible-test units``
starts pytest with a cleaned environment)."""

NIX_CONFIG = "substituters =\nexperimental-features = nix-command flakes\nsandbox = false\nbuild-users-group ="
