"""Shared fixtures: a simulated dtle cluster on 127.0.0.1 and settings / apps pointed at it."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from dtle_tui.config.settings import Settings, load_settings

FIXTURES = Path(__file__).parent / "fixtures"


def settings_for(sim, tmp_path: Path, *extra: str, env: dict | None = None) -> Settings:
    """Settings as `dtle-tui --nomad-addr … --consul-addr …` would build them, isolated in tmp_path."""
    environ = {
        "HOME": str(tmp_path),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    environ.update(env or {})
    argv = ["--nomad-addr", sim.nomad_addr, "--consul-addr", sim.consul_addr, "--refresh", "0.5",
            "--timeout", "3", *extra]
    return load_settings(argv, environ)


@pytest.fixture
def sim() -> Iterator:
    """The default (moving) scenario, 1.1.2 dialect."""
    from dtle_tui.sim import SimCluster

    cluster = SimCluster(dialect="1.1", seed=1)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def frozen_sim() -> Iterator:
    """Nothing moves and every timestamp is fixed: for snapshots and exact assertions."""
    from dtle_tui.sim import SimCluster

    cluster = SimCluster(dialect="1.1", seed=1, frozen=True)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def trouble_sim() -> Iterator:
    """The demo's troubleshooting story (a dest not placed behind a draining node, a task near its memory
    limit), moving, 1.1.2 dialect."""
    from dtle_tui.sim import SimCluster

    cluster = SimCluster(dialect="1.1", seed=1, troubles=True)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(sim, *extra: str, env: dict | None = None) -> Settings:
        return settings_for(sim, tmp_path, *extra, env=env)

    return make


# Tests are grouped by layer in folders; each folder is also a marker, so `pytest -m "unit or sim"` runs the
# fast part alone (`make test-fast`). `make test` runs everything.
LAYER_MARKERS = ("unit", "sim", "core", "ui", "e2e")


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        parts = Path(str(item.fspath)).parts
        for marker in LAYER_MARKERS:
            if marker in parts[-3:-1]:
                item.add_marker(marker)
