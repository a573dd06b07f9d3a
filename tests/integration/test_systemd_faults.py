"""The fault suite (test_faults.py) on hosts that behave like NixOS: systemd as PID 1, sshd and
nix-daemon as units, ssh as a ``deploy`` user that Nix trusts, root through sudo (NOPASSWD), the
switch in a transient unit. The same tests, the same assertions; only the fleet differs.
"""

import pytest

from test_faults import (  # pytest collects the imported tests here, with this module's fixtures
    FaultFleet,
    fleet,
    flake,
    inventory,
    test_1_unreachable_host_does_not_stop_the_others,
    test_2_failed_activation_leaves_the_previous_generation,
    test_3_exit_code_4_is_reported,
    test_4_generation_that_kills_sshd_rolls_itself_back,
    test_5_failed_health_check_rolls_back,
    test_5_json_health_checks_with_jmespath,
    test_6_interrupted_copy_then_next_run_completes,
    test_7_two_deploys_at_once,
    test_8_full_store_is_a_clear_error_and_changes_nothing,
    test_9_failed_canary_stops_later_batches,
    test_10_a_stalled_copy_fails_naming_what_is_missing_and_the_next_run_resumes,
)

pytestmark = pytest.mark.integration
__all__ = [
    "fleet",
    "flake",
    "inventory",
    "test_1_unreachable_host_does_not_stop_the_others",
    "test_2_failed_activation_leaves_the_previous_generation",
    "test_3_exit_code_4_is_reported",
    "test_4_generation_that_kills_sshd_rolls_itself_back",
    "test_5_failed_health_check_rolls_back",
    "test_5_json_health_checks_with_jmespath",
    "test_6_interrupted_copy_then_next_run_completes",
    "test_7_two_deploys_at_once",
    "test_8_full_store_is_a_clear_error_and_changes_nothing",
    "test_9_failed_canary_stops_later_batches",
    "test_10_a_stalled_copy_fails_naming_what_is_missing_and_the_next_run_resumes",
]


@pytest.fixture(scope="module")
def kind():
    return FaultFleet("127.0.42.11", "127.0.42.21", systemd=True)
