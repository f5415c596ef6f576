"""The garbage collector's tuning (dtle_tui/tuning.py): each switch restores what it found."""

from __future__ import annotations

import gc

from dtle_tui import tuning


def test_collector_paused_restores_the_previous_state():
    assert gc.isenabled()
    with tuning.collector_paused():
        assert not gc.isenabled()
        with tuning.collector_paused():  # nested: the inner one must not turn it back on
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_start_up_hold_is_seen_and_released():
    with tuning.start_up_hold():
        assert tuning.held_at_start_up()
    assert not tuning.held_at_start_up()


def test_thresholds_raised_only_for_large_clusters():
    before = gc.get_threshold()
    try:
        assert tuning.fit_thresholds(tuning.LARGE_CLUSTER_JOBS - 1) is False
        assert gc.get_threshold() == before
        assert tuning.fit_thresholds(tuning.LARGE_CLUSTER_JOBS) is True
        assert gc.get_threshold() == (10_000, 10, 10)
    finally:
        gc.set_threshold(*before)
