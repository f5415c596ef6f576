"""Fixtures of the frozen demo scenario for the snapshots and the 80x24 tests: one simulator per module on
the scenes' fixed ports (tests/scenes.py), and the screens' clock pinned to it for each test.

A test module takes them as its own: `frozen_cluster, pinned_clock = frozen.frozen_cluster,
frozen.pinned_clock` (pinned_clock is autouse: then for every test of that module). A test that uses
`frozen_cluster` runs on its slot's xdist worker (tests/conftest.py), beside the others that need the
same fixed ports, instead of waiting for their lock on another worker.
"""

from __future__ import annotations

import pytest

from tests import scenes


def scene_slot(module) -> int:
    """The module's slot of fixed ports and home (tests/scenes.py): its SCENE_SLOT, else 0."""
    return int(getattr(module, "SCENE_SLOT", 0))


@pytest.fixture(scope="module")
def frozen_cluster(request):
    sim = scenes.start_frozen_sim(scene_slot(request.module))
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
