"""Fixtures of the frozen demo scenario for issue 26's 80x24 tests and snapshots: one simulator per module
on the scenes' fixed ports (tests/scenes.py), and the screens' clock pinned to it for each test.

Import both into a test module: `from tests.frozen import frozen_cluster, pinned_clock  # noqa: F401`.
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
