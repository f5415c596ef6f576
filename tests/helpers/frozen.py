"""Fixtures of the frozen demo scenario for the snapshots and the 80x24 tests: one simulator per module on
the scenes' fixed ports (tests/scenes.py), and the screens' clock pinned to it for each test.

A test module takes them as its own: `frozen_cluster, pinned_clock = frozen.frozen_cluster,
frozen.pinned_clock` (pinned_clock is autouse: then for every test of that module). A test that uses
`frozen_cluster` runs on the snapshots' xdist worker (tests/conftest.py), beside the others that need the
fixed ports, instead of waiting for their lock on another worker.
"""

from __future__ import annotations

import pytest

from tests import scenes


@pytest.fixture(scope="module")
def frozen_cluster():
    sim = scenes.start_frozen_sim()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture(autouse=True)
def pinned_clock():
    from dtle_tui.live import troubleshoot
    from dtle_tui.text import clock

    interval = troubleshoot.STATS_INTERVAL_S
    scenes.pin_environment()
    yield
    clock.freeze(None)
    troubleshoot.STATS_INTERVAL_S = interval
