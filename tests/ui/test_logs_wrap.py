"""Issue 26, item 8, Logs at 80x24: `w` wraps long lines (shown in the footer), `End` jumps to the newest
line and follows (a pause ends), `Home` jumps to the oldest; search lands on the right line wrapped too. On the
stdout of the story's raw_exec task (a dtle task writes none), and in the snapshot on dtle's own lines."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Log

from dtle_tui.app import DtleApp
from dtle_tui.live.agentlogs import SEEN
from dtle_tui.screens.logs import LogsScreen
from dtle_tui.sim.scenario import HELPER_TASK
from dtle_tui.widgets.log_book import CONTINUATION
from tests import scenes
from tests.helpers import dialog_scenes, frozen
from tests.helpers.screen import visible_lines
from tests.ui.test_logs_screen import following, helper, until

frozen_cluster = frozen.frozen_cluster  # the fixture (tests/helpers/frozen.py)
LONG = "2026-11-27T08:00:00Z [ERROR] client.driver_mgr.dtle: " + " ".join(f"word{i:03d}" for i in range(40))


@pytest.fixture(autouse=True)
def nothing_seen_before():
    """The console's memory of dtle's lines is the process's: the scenes' fixed ports make two tests'
    clusters one to it."""
    SEEN.clear()
    yield
    SEEN.clear()


def log_rows(app) -> list:
    """The painted rows of the log area, as the operator sees them."""
    log = app.screen.query_one("#log", Log)
    region = log.scrollable_content_region
    rows = visible_lines(app)
    return [rows[y][region.x:region.right].rstrip() for y in range(region.y, region.bottom)]


def unwrapped(rows: list) -> str:
    """Rows joined back into lines: a continuation row goes on the line before it."""
    out = ""
    for row in rows:
        out += row[len(CONTINUATION):] if row.startswith(CONTINUATION) else "\n" + row
    return out


async def test_w_wraps_a_long_line_and_unwraps_it(sim, make_settings):
    alloc = helper(sim)
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await following(pilot, alloc)
        await until(pilot, lambda: "w Wrap" in visible_lines(app)[-1], "the key in the footer")
        sim.logs.write(alloc.id, HELPER_TASK, "stdout", LONG + "\n")
        await until(pilot, lambda: LONG in screen.book.lines, "the long line")
        await pilot.pause(0.2)
        assert LONG not in unwrapped(log_rows(app))  # cut at the edge
        await pilot.press("w")
        await until(pilot, lambda: LONG in unwrapped(log_rows(app)), "the whole line on screen")
        assert screen.wrap and "wrap" in str(screen.query_one("#logs-header").render())
        assert all(len(row) <= 78 for row in log_rows(app))
        assert screen.log_widget.is_vertical_scroll_end  # still following
        sim.logs.write(alloc.id, HELPER_TASK, "stdout", "after the wrap\n")
        await until(pilot, lambda: "after the wrap" in log_rows(app), "a new line, wrapped mode")
        await pilot.press("w")
        await until(pilot, lambda: not any(r.startswith(CONTINUATION) for r in log_rows(app)), "unwrapped")
        assert list(screen.log_widget.lines) == list(screen.book.lines)


async def test_end_follows_home_goes_to_the_start_and_both_leave_the_search_box_alone(sim, make_settings):
    alloc = helper(sim)
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await following(pilot, alloc)
        sim.logs.write(alloc.id, HELPER_TASK, "stdout", "".join(f"line {i:03d}\n" for i in range(120)))
        await until(pilot, lambda: "line 119" in screen.book.lines, "120 lines")
        log = screen.log_widget
        first = screen.book.lines[0]
        await pilot.press("home")
        await until(pilot, lambda: log.scroll_y == 0 and log_rows(app)[0] == first[:78].rstrip(), "the start")
        sim.logs.write(alloc.id, HELPER_TASK, "stdout", "newer\n")
        await until(pilot, lambda: "newer" in screen.book.lines, "a newer line")
        await pilot.pause(0.2)
        assert log.scroll_y == 0  # the view stays where the operator put it
        await pilot.press("end")
        await until(pilot, lambda: log.is_vertical_scroll_end and "newer" in log_rows(app), "the end")

        await pilot.press("space")  # paused: End ends the pause and shows what came meanwhile
        assert screen.paused
        sim.logs.write(alloc.id, HELPER_TASK, "stdout", "while paused\n")
        await until(pilot, lambda: "while paused" in screen.tail.lines_snapshot(), "the tail reading on")
        await pilot.press("end")
        await until(pilot, lambda: not screen.paused and "while paused" in log_rows(app), "following again")

        await pilot.press("slash", *"line")
        box = screen.query_one("#log-search", Input)
        await pilot.pause(0.1)
        where = log.scroll_y
        await pilot.press("home")
        assert box.cursor_position == 0 and box.value == "line" and log.scroll_y == where
        await pilot.press("end")
        assert box.cursor_position == 4
        await pilot.press("escape")


async def test_search_lands_on_its_line_when_wrapped(sim, make_settings):
    alloc = helper(sim)
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await following(pilot, alloc)
        body = "".join(f"{LONG} {i:03d}\n" for i in range(60)) + "needle here\n" + f"{LONG}\n" * 40
        sim.logs.write(alloc.id, HELPER_TASK, "stdout", body)
        await until(pilot, lambda: "needle here" in screen.book.lines, "the lines")
        await pilot.press("w")
        await until(pilot, lambda: screen.wrap and any(r.startswith(CONTINUATION) for r in log_rows(app)), "wrap")
        await pilot.press("slash", *"needle", "enter")
        target = list(screen.book.lines).index("needle here")
        assert screen.current_match == target
        await until(pilot, lambda: "needle here" in log_rows(app), "the match in view")


def wrapped_logs(sim):
    async def run(pilot) -> None:
        """dtle's lines of payments-sync's running dest at 80x24, wrapped: the frozen cluster writes none by
        itself, so two are written into its node's log once the console follows it (at the cluster's time)."""
        await dialog_scenes._running_alloc_on_detail(pilot)
        await pilot.press("l")
        app = pilot.app
        await until(pilot, lambda: isinstance(app.screen, LogsScreen) and app.screen.tail is not None
                    and app.screen.tail.state.following, "the logs")
        screen = app.screen
        alloc = next(a for a in sim.scenario.allocations(screen.job_id) if a.id == screen.alloc_id)
        now = sim.state.now()
        sim.agent_logs.dtle(alloc.node.id, now, "INFO", "Got gtid from consul", ("@module", "dtle.applier"),
                            ("gtid", ""), ("job", alloc.job_id))
        sim.agent_logs.dtle(alloc.node.id, now + 1_000_000, "ERROR", "onError", ("@module", "dtle.applier"),
                            ("err", "DstPutNats: nats: timeout waiting for the source to answer on its subject"),
                            ("job", alloc.job_id))
        await until(pilot, lambda: len(screen.book.lines) >= 2, "dtle's two lines")
        await pilot.press("w")
        await until(pilot, lambda: app.screen.wrap, "wrapped")
        await pilot.pause(0.3)
    return run


def test_wrapped_logs_at_80x24(frozen_cluster, snap_compare):
    from dtle_tui.text import clock

    scenes.pin_environment()  # here only: the other tests of this module run on a moving cluster
    try:
        app = scenes.make_app(frozen_cluster)
        assert snap_compare(app, terminal_size=(80, 24), run_before=wrapped_logs(frozen_cluster))
    finally:
        clock.freeze(None)
