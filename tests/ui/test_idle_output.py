"""Issue 15: an idle console writes nothing to the terminal, on both dialects and on every screen.

Driven through Pilot against a frozen simulator over real HTTP. "Written" is every frame Textual hands
to its driver (App._display with an update; headless, it is rendered and then dropped): the same frames
a terminal would receive. Idle is what happens when nothing changed: the once-a-second ticks of the
status line and of the tables' ages, with the wall clock moved on by half a minute (no age crosses a
minute in the frozen scenario: every time in it is whole minutes from its fixed clock), and every feed
answering again with the same data (Consul's held query answering unchanged once a minute; on Nomad 0.11
the blocking queries timing out after their wait and answering the whole, unchanged, lists).
"""

from __future__ import annotations

from typing import Callable

import pytest

from dtle_tui.app import DtleApp
from dtle_tui.screens.allocation import AllocationScreen
from dtle_tui.screens.job_detail import JobDetailScreen
from dtle_tui.screens.jobs import JobsScreen
from dtle_tui.screens.logs import LogsScreen
from dtle_tui.screens.nodes import NodesScreen
from dtle_tui.screens.orphans import OrphansScreen
from dtle_tui.sim.state import FROZEN_EPOCH_NS
from dtle_tui.text import clock
from dtle_tui.textual_private import spy_on_paints
from dtle_tui.widgets.status_bar import StatusBar
from tests.helpers.screen import screen_text
from tests.helpers.wait import until

FROZEN_NOW = FROZEN_EPOCH_NS / 1e9


class FrameCounter:
    """Counts the frames the app would write to its terminal (App._display with something to show)."""

    def __init__(self, app: DtleApp) -> None:
        self.frames = 0
        self._display = spy_on_paints(app, self._spy)

    def _spy(self, screen, renderable) -> None:
        if renderable is not None:
            self.frames += 1
        self._display(screen, renderable)


class TickCounter:
    """How often the status line's once-a-second tick has run (the proof that idle time has passed)."""

    def __init__(self) -> None:
        self.ticks = 0
        self._redraw = StatusBar.redraw

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        counter = self

        def redraw(bar: StatusBar) -> None:
            counter.ticks += 1
            counter._redraw(bar)

        monkeypatch.setattr(StatusBar, "redraw", redraw)


async def idle_frames(pilot, ticks: TickCounter, frames: FrameCounter, advance: float) -> int:
    """Frames written while the clock moves on by `advance` seconds, every feed answers again unchanged and
    the status line ticks twice."""
    app = pilot.app
    generation = app.snapshot.generation
    await pilot.pause()
    before = frames.frames
    clock.freeze(FROZEN_NOW + advance)
    app.poller.refresh_now()  # every feed answers again, with the same data
    await until(pilot, lambda: app.snapshot.generation > generation, "the feeds answered again")
    start = ticks.ticks
    await until(pilot, lambda: ticks.ticks >= start + 2, "two ticks of the status line")
    await pilot.pause()
    return frames.frames - before


def stats_shown(app) -> bool:
    """The open screen's task stats have come (read every few seconds while it is open): their first answer
    changes the screen, and must not fall inside an idle window."""
    troubles = app.snapshot.troubles
    detail = app.snapshot.detail
    if app.snapshot.allocation is not None and isinstance(app.screen, AllocationScreen):
        wanted = {app.snapshot.allocation.id}
    else:
        wanted = {a.id for a in (detail.allocations if detail else ()) if a.client_status == "running"}
    return bool(troubles is not None and wanted and wanted <= set(troubles.stats)
                and "reading task stats" not in screen_text(app))


async def settle(pilot, what: str, condition: Callable[[], bool]) -> None:
    await until(pilot, condition, what)
    app = pilot.app
    await until(pilot, lambda: app.snapshot.nomad.ok and app.snapshot.consul.ok, "every feed answered")
    await pilot.pause()


@pytest.mark.parametrize("dialect", ["1.1", "0.11"])
async def test_an_idle_console_writes_nothing_on_any_screen(dialect, make_settings, monkeypatch):
    from dtle_tui.sim import SimCluster

    ticks = TickCounter()
    ticks.install(monkeypatch)
    clock.freeze(FROZEN_NOW + 5)
    try:
        with SimCluster(dialect=dialect, frozen=True) as sim:
            app = DtleApp(make_settings(sim))
            async with app.run_test(size=(80, 24)) as pilot:
                frames = FrameCounter(app)
                await settle(pilot, "the job list", lambda: isinstance(app.screen, JobsScreen)
                             and app.screen.table.row_count > 10)
                status = app.screen.query_one(StatusBar)
                assert "live" in str(status.content) and " ago" not in str(status.content)
                written = {"jobs": await idle_frames(pilot, ticks, frames, 35)}

                app.screen.table.move_cursor(app.screen.table.row_keys.index("job1"))
                await pilot.press("enter")
                await settle(pilot, "job detail", lambda: isinstance(app.screen, JobDetailScreen)
                             and app.snapshot.detail is not None and app.snapshot.detail.job_id == "job1"
                             and "Allocations" in screen_text(app) and stats_shown(app))
                written["job detail"] = await idle_frames(pilot, ticks, frames, 36)

                await pilot.press("l")  # job1's dest is a dtle task: dtle's lines, and a frozen cluster writes none
                await settle(pilot, "logs", lambda: isinstance(app.screen, LogsScreen) and app.screen.dtle
                             and app.screen.tail is not None and app.screen.tail.state.following
                             and "dtle writes no stdout/stderr" in screen_text(app))
                written["logs"] = await idle_frames(pilot, ticks, frames, 36)
                await pilot.press("escape")
                await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), "back on job detail")

                await pilot.press("enter")
                await settle(pilot, "allocation", lambda: isinstance(app.screen, AllocationScreen)
                             and app.snapshot.allocation is not None and stats_shown(app))
                written["allocation"] = await idle_frames(pilot, ticks, frames, 37)

                await pilot.press("escape", "escape", "2")
                await settle(pilot, "nodes", lambda: isinstance(app.screen, NodesScreen))
                written["nodes"] = await idle_frames(pilot, ticks, frames, 38)

                await pilot.press("3")
                await settle(pilot, "orphans", lambda: isinstance(app.screen, OrphansScreen))
                written["orphans"] = await idle_frames(pilot, ticks, frames, 39)
                assert written == {k: 0 for k in written}
    finally:
        clock.freeze(None)
