"""How long each phase took (module_utils._progress.phase_timings): times added up per phase, measured
around a block (even one that raises), and read back from a task's result, numbers only."""

import time

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._progress.phase_timings import (
    PhaseTimes,
    TimedPhase,
    from_result,
    task_seconds,
)


def test_a_phase_measured_twice_adds_up_and_a_negative_time_counts_as_none():
    times = PhaseTimes()
    times.add(TimedPhase.COPY, 1.25)
    times.add(TimedPhase.COPY, 0.5)
    times.add(TimedPhase.BUILD, -3.0)  # a clock that went back
    times.add(TimedPhase.HEALTH, 0.12345)
    assert times.to_result() == {"copy": 1.75, "build": 0.0, "health": 0.123}


def test_measure_times_the_block_even_when_it_raises():
    times = PhaseTimes()
    with times.measure(TimedPhase.ACTIVATION):
        time.sleep(0.05)
    with pytest.raises(RuntimeError):
        with times.measure(TimedPhase.CONFIRMATION):
            time.sleep(0.05)
            raise RuntimeError("activation failed")
    result = times.to_result()
    assert set(result) == {"activation", "confirmation"}
    assert 0.05 <= result["activation"] < 5 and 0.05 <= result["confirmation"] < 5


def test_a_results_timings_are_read_as_numbers_of_known_phases_only():
    assert from_result(None) == {} and from_result({}) == {} and from_result({"timings": None}) == {}
    timings = {"copy": 2, "build": 1.5, "bogus": 3, "health": True, "activation": "9", "evaluation": None}
    assert from_result({"timings": timings}) == {"copy": 2.0, "build": 1.5}
    assert from_result({"timings": ["copy", 2]}) == {}


def test_a_tasks_seconds_from_its_nixfleet_timing():
    assert task_seconds({"nixfleet_timing": {"started": 100.0, "finished": 102.5}}) == 2.5
    assert task_seconds({"nixfleet_timing": {"started": "100", "finished": "101"}}) == 1.0
    assert task_seconds({"nixfleet_timing": {"started": 100.0, "finished": 99.0}}) == 0.0
    assert task_seconds(None) is None
    assert task_seconds({"nixfleet_timing": {"started": 100.0}}) is None
    assert task_seconds({"nixfleet_timing": {"started": "soon", "finished": 1}}) is None
    assert task_seconds({"nixfleet_timing": {"started": None, "finished": 1}}) is None
