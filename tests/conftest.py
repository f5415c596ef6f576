"""Shared fixtures: every test hermetic, simulated dtle clusters on 127.0.0.1, settings and apps pointed at
them. The helpers the tests share are in tests/helpers/."""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import pytest
from hypothesis import settings as hypothesis_settings
from hypothesis.configuration import set_hypothesis_home_dir

from dtle_tui.config.settings import Settings
from tests.helpers.frozen import scene_slot
from tests.helpers.sim import settings_for

# Nothing of the caller's environment reaches a test (issue 24): a NOMAD_ADDR or a token exported in the
# shell that runs `make test` must neither change a result nor be sent anywhere. These are removed, and HOME
# and the XDG directories point into a temporary directory: for the whole run from the start (Textual reads
# its TEXTUAL_* settings when it is first imported; module and session fixtures run before any test's own
# fixtures), and again for every test, with a home of its own. Subprocesses inherit the same.
# tests/unit/test_hermetic.py runs tests under hostile values of all of them.
RESET_PREFIXES = ("NOMAD_", "CONSUL_", "DTLE_", "XDG_", "TEXTUAL_")
# TEXTUAL (its feature flags: devtools, debug) and what Rich reads for colours and size, beside the issue's.
RESET_NAMES = ("HOME", "NO_COLOR", "TERM", "COLUMNS", "LINES", "TEXTUAL", "FORCE_COLOR", "TTY_COMPATIBLE",
               "TTY_INTERACTIVE", "ESCDELAY")
# pytest-textual-snapshot's own: set by the run itself so its xdist workers find the report directory.
KEEP = ("TEXTUAL_SNAPSHOT_TEMPDIR",)
XDG = (("XDG_CONFIG_HOME", ".config"), ("XDG_STATE_HOME", ".local/state"), ("XDG_DATA_HOME", ".local/share"),
       ("XDG_CACHE_HOME", ".cache"))


def hermetic_environ(unset: Callable[[str], None], put: Callable[[str, str], None], home: Path) -> None:
    for name in list(os.environ):
        if (name.startswith(RESET_PREFIXES) and name not in KEEP) or name in RESET_NAMES:
            unset(name)
    put("HOME", str(home))
    for name, path in XDG:
        put(name, str(home / path))


def reread_textual_settings() -> None:
    """Textual reads its TEXTUAL_* settings once, when first imported, and pytest-textual-snapshot (a plugin,
    loaded before this file) imports it: read them again now that the environment is clean. The one
    setting copied out at import that changes what is drawn is the dim factor."""
    constants = sys.modules.get("textual.constants")
    if constants is None:
        return
    importlib.reload(constants)
    from textual import filter as textual_filter

    textual_filter.DIM_FACTOR = constants.DIM_FACTOR


def pytest_configure(config: pytest.Config) -> None:
    home = Path(tempfile.mkdtemp(prefix="dtle-tui-tests-home-"))
    config.stash[RUN_HOME] = home
    hermetic_environ(lambda name: os.environ.pop(name, None), os.environ.__setitem__, home)
    reread_textual_settings()
    set_hypothesis_home_dir(home / ".hypothesis")  # its caches, otherwise in the working tree


def pytest_unconfigure(config: pytest.Config) -> None:
    home = config.stash.get(RUN_HOME, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


RUN_HOME = pytest.StashKey[Path]()

# Hypothesis keeps no example database in the working tree: nothing is written outside a temporary
# directory, and every run draws afresh.
hypothesis_settings.register_profile("suite", database=None)
hypothesis_settings.load_profile("suite")


@pytest.fixture(autouse=True)
def hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    hermetic_environ(monkeypatch.delenv, monkeypatch.setenv, home)
    return home


@pytest.fixture
def make_sim() -> Iterator[Callable]:
    """Simulated clusters as a test needs them: `make_sim(**SimCluster arguments, nomad_port=, consul_port=)`
    starts one on 127.0.0.1; every one started is stopped when the test ends, whatever happens."""
    from dtle_tui.sim import SimCluster

    started: list = []

    def make(nomad_port: int = 0, consul_port: int = 0, **kwargs) -> SimCluster:
        cluster = SimCluster(**kwargs)
        cluster.start(nomad_port=nomad_port, consul_port=consul_port)
        started.append(cluster)
        return cluster

    try:
        yield make
    finally:
        for cluster in reversed(started):
            cluster.stop()


@pytest.fixture
def sim(make_sim):
    """The default (moving) scenario, 1.1.2 dialect."""
    return make_sim(dialect="1.1", seed=1)


@pytest.fixture
def frozen_sim(make_sim):
    """Nothing moves and every timestamp is fixed: for snapshots and exact assertions."""
    return make_sim(dialect="1.1", seed=1, frozen=True)


@pytest.fixture
def trouble_sim(make_sim):
    """The demo's troubleshooting story (a dest not placed behind a draining node, a task near its memory
    limit), moving, 1.1.2 dialect."""
    return make_sim(dialect="1.1", seed=1, troubles=True)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(sim, *extra: str, env: dict | None = None) -> Settings:
        return settings_for(sim, tmp_path, *extra, env=env)

    return make


@pytest.fixture
def fast_retries(monkeypatch):
    """Short back-off and short blocking waits, so a fault is met (and left) within about a second."""
    from dtle_tui.api import http as httpclient
    from dtle_tui.live import feeds

    monkeypatch.setattr(feeds, "BACKOFF_FIRST_S", 0.2)
    monkeypatch.setattr(feeds, "BACKOFF_CAP_S", 0.5)
    monkeypatch.setattr(feeds, "BLOCK_WAIT", "500ms")
    monkeypatch.setattr(httpclient, "BLOCKING_MARGIN_S", 0.2)


@pytest.fixture
def long_blocking_queries(monkeypatch):
    """Blocking queries held 10 minutes (the servers' longest wait) instead of 60 s: a change a test sees
    within its deadline then came because a held query (or the event stream) answered it, never because a
    wait ran out. What a deadline cannot tell apart is made to differ by far more than any machine's delay."""
    from dtle_tui.live import feeds

    monkeypatch.setattr(feeds, "BLOCK_WAIT", "10m")


# Tests are grouped by layer in folders; each folder is also a marker, so `pytest -m "unit or sim"` runs the
# fast part alone (`make test-fast`). `make test` runs everything.
LAYER_MARKERS = ("unit", "sim", "core", "ui", "e2e")


# Before pytest-xdist reads the xdist_group marks (`--dist loadgroup`).
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        parts = Path(str(item.fspath)).parts
        for marker in LAYER_MARKERS:
            if marker in parts[-3:-1]:
                item.add_marker(marker)
        # The frozen scenario holds a slot's fixed ports under a lock (tests/scenes.py): the tests of one slot
        # run on one worker, rather than several workers each waiting for another's module to let go of them.
        if "frozen_cluster" in getattr(item, "fixturenames", ()):
            slot = scene_slot(getattr(item, "module", None))
            item.add_marker(pytest.mark.xdist_group("snapshots" if slot == 0 else f"scenes-{slot}"))
    # The longest stretches of work start first: xdist hands work out in this order, and a long group
    # started last would leave the other workers idle at the end. Stable: each file keeps its order.
    items.sort(key=_start_rank)


# What takes one worker longest (measured with --durations): the groups bound to one worker, then the
# longest single tests. The rest keeps its order.
LONG_FIRST = ("tests/ui/test_snapshots.py", "tests/ui/test_no_color.py", "tests/ui/test_snapshots_dialogs.py",
              "tests/ui/test_logs_wrap.py", "tests/ui/test_dialogs_80x24.py", "tests/ui/test_trust_80x24.py",
              "tests/e2e/test_pyz.py", "tests/e2e/test_bench_smoke.py", "tests/ui/test_resize.py",
              "tests/unit/test_models_props.py", "tests/ui/test_jobs_table.py", "tests/ui/test_alerts_report_ui.py",
              "tests/ui/test_idle_output.py", "tests/sim/test_sim_scale.py", "tests/ui/test_keys.py")


def _start_rank(item: pytest.Item) -> int:
    path = Path(str(item.fspath)).as_posix()
    return next((rank for rank, name in enumerate(LONG_FIRST) if path.endswith(name)), len(LONG_FIRST))
