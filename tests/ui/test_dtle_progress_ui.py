"""dtle's own progress as an operator sees it (issue 13): the Job detail panel, the Jobs column at wide
widths, and the failures, through Pilot against the simulator's per-node dtle APIs over real HTTP."""

from __future__ import annotations

import re

import pytest

from dtle_tui.app import DtleApp
from dtle_tui.live import monitor as monitor_mod
from dtle_tui.model import monitor as model_mod
from dtle_tui.model.stage import Stage
from dtle_tui.screens.job_detail import JobDetailScreen
from dtle_tui.screens.jobs import JobsScreen
from tests.helpers.screen import status_line
from tests.helpers.wait import until

FULL_JOB = "billing-migrate"


def panel(app) -> str:
    return app.screen.query_one("#dtle-progress").content.plain


async def open_detail(pilot, job_id: str) -> None:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, JobsScreen) and job_id in app.screen.table.row_keys
                and app.snapshot.nomad.ok_at, "the jobs")
    app.open_job(job_id)
    await until(pilot, lambda: isinstance(app.screen, JobDetailScreen) and app.snapshot.detail is not None
                and app.snapshot.detail.job_id == job_id and app.snapshot.detail.allocations, "the job detail")


def percent(text: str) -> float:
    return float(re.search(r"full copy ([\d.]+) %", text).group(1))


async def test_off_says_how_to_turn_it_on_and_asks_nothing(sim, make_settings):
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(160, 40)) as pilot:
        await open_detail(pilot, FULL_JOB)
        await until(pilot, lambda: "--dtle-api nodes" in panel(app), "how to turn it on")
        assert "DTLE_API_ADDR" in panel(app)
        assert "Progress/Delay" not in [label for _, label, _ in app.screen_stack[0].table.columns]
    assert sim.request_count("dtle") == 0 and sim.request_count("nomad-client") == 0


async def test_full_copy_percent_and_eta_move_and_incremental_shows_delay(sim, make_settings, monkeypatch):
    monkeypatch.setattr(monitor_mod, "DETAIL_S", 0.5)
    app = DtleApp(make_settings(sim, "--dtle-api", "nodes"))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_detail(pilot, FULL_JOB)
        # The src's and the dest's APIs are asked each on their own: the src's figure may stand first.
        await until(pilot, lambda: "full copy" in panel(app) and "(dest)" in panel(app), "the dest's full copy figures")
        first = percent(panel(app))
        assert "ETA" in panel(app) and re.search(r"rows [\d,]+ of ≈[\d,]+", panel(app))
        await until(pilot, lambda: percent(panel(app)) > first, "the percentage moving")
        await pilot.press("escape")
        await open_detail(pilot, "job1")
        await until(pilot, lambda: re.search(r"incremental delay \d+ s  backlog \d+/96  applied mysql-bin", panel(app)),
                    "the delay")
        assert "dtle" not in status_line(app)


async def test_stalled_delay_is_marked_frozen(sim, make_settings, monkeypatch):
    monkeypatch.setattr(monitor_mod, "DETAIL_S", 0.3)
    monkeypatch.setattr(model_mod, "FROZEN_AFTER_S", 0.5)
    app = DtleApp(make_settings(sim, "--dtle-api", "nodes"))
    async with app.run_test(size=(160, 40)) as pilot:
        await open_detail(pilot, "users-stalled")
        await until(pilot, lambda: "FROZEN" in panel(app) and "Gtid not moving" in panel(app), "FROZEN")
        await pilot.press("escape")
        await open_detail(pilot, "job1")  # a moving job's delay is never frozen
        await until(pilot, lambda: "incremental delay" in panel(app), "job1's delay")
        await pilot.pause(1.5)
        assert "FROZEN" not in panel(app)


@pytest.mark.parametrize("fault, text", [("lost", "can not find the task"), ("down", "unreachable"),
                                         ("html", "HTML, not JSON"), ("hang", "timed out")])
async def test_failures_are_one_line_on_the_panel_only(sim, make_settings, monkeypatch, fault, text):
    monkeypatch.setattr(monitor_mod, "DETAIL_S", 0.3)
    app = DtleApp(make_settings(sim, "--dtle-api", "nodes", "--timeout", "1"))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_detail(pilot, FULL_JOB)
        await until(pilot, lambda: "full copy" in panel(app), "the figures first")
        dest = next(a for a in app.snapshot.detail.allocations if a.task_group == "dest")
        if fault == "lost":  # only the dest is unknown to dtle: the src's figure stands in, marked
            sim.dtle_apis.lost.add((dest.id, "dest"))
        else:
            setattr(sim.dtle_faults, fault, True)
        try:
            await until(pilot, lambda: text in panel(app), f"the {fault} line")
            if fault != "lost":
                # The fault hits src and dest, each on its own poll: the src may fail first while the dest's
                # figures (the ones shown) are still fresh; "kept" is said once the shown task fails too.
                await until(pilot, lambda: re.search(r"\(figures of \d\d:\d\d:\d\d kept\)", panel(app)),
                            "the shown figures said to be old")
            if fault == "lost":
                await until(pilot, lambda: "(src)" in panel(app) and "dest not readable" in panel(app), "src fallback")
            lines = [line for line in panel(app).splitlines() if text in line]
            assert lines and all(line.strip().startswith(("dest:", "src:")) for line in lines)
            if fault != "lost":  # the last good figures stay on the panel, said to be old
                assert "full copy" in panel(app)
                assert any(re.search(r"\(figures of \d\d:\d\d:\d\d kept\)", line) for line in lines)
            assert "dtle" not in status_line(app) and app.snapshot.nomad.error is None
            assert app.screen.query_one("#allocs").row_count == len(app.snapshot.detail.allocations)
        finally:
            sim.dtle_faults.clear()
            sim.dtle_apis.lost.clear()
        await until(pilot, lambda: text not in panel(app) and "full copy" in panel(app), "recovered")


async def test_jobs_column_at_wide_widths_asks_only_rows_in_view(sim, make_settings, monkeypatch):
    monkeypatch.setattr(monitor_mod, "ROWS_S", 0.5)
    app = DtleApp(make_settings(sim, "--dtle-api", "nodes"))
    async with app.run_test(size=(200, 14)) as pilot:  # a short terminal: only some rows in view
        await until(pilot, lambda: isinstance(app.screen, JobsScreen) and app.screen.table.row_count > 8,
                    "the jobs")
        table = app.screen.table
        assert "Progress/Delay" in [label for _, label, _ in table.columns]
        await until(pilot, lambda: re.match(r"[\d.]+%", table.get_cell(FULL_JOB, "dtle").plain), "a percentage")
        await until(pilot, lambda: table.get_cell("events-kafka", "dtle").plain.startswith("delay "), "a delay")
        # What the monitor was told is what the table shows now (the first frames may show more rows, for
        # a moment, and the screen reports every 2 s): what is asked from now on is what those rows need.
        def running_in_view() -> set:
            return {r.id for r in table.rows[: table.size.height - 1] if r.status == "running" and r.dest.running}

        await until(pilot, lambda: app.poller.monitor is not None
                    and set(app.poller.monitor.row_jobs) == running_in_view(), "the rows in view reported")
        in_view = table.row_keys[: table.size.height - 1]
        sim.requests.reset()

        def asked() -> set:
            return {q.split("allocation_id=")[1].split("&")[0] for s, _m, _p, q in sim.requests.entries()
                    if s == "dtle"}

        await until(pilot, lambda: len(asked()) >= 2, "the rows in view asked again")
        allowed = {a.id for job in in_view for a in sim.scenario.allocations(job)}
        assert asked() <= allowed  # rows out of view are never asked
        not_running = [r.id for r in app.snapshot.rows if r.status != "running" or not r.dest.running]
        assert not any(a.id in asked() for job in not_running for a in sim.scenario.allocations(job))


async def test_narrow_jobs_screen_asks_only_about_incremental_rows(sim, make_settings):
    app = DtleApp(make_settings(sim, "--dtle-api", "nodes"))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, JobsScreen) and app.screen.table.row_count > 8
                    and app.snapshot.consul.ok_at, "the jobs")
        await pilot.pause(2.5)  # past the screen's report of the rows in view
        assert "dtle" not in app.screen.columns
        # Without the column only the incremental rows are read (their frozen delay is a stall): no other.
        incremental = {a.id for r in app.snapshot.rows if r.stage is Stage.INCREMENTAL
                       for a in sim.scenario.allocations(r.id)}
    asked = [query for server, _m, _p, query in sim.requests.entries() if server == "dtle"]
    assert all(q.split("allocation_id=")[-1].split("&")[0] in incremental for q in asked)
