"""Issue 22, item 4: `l` on a dtle task shows dtle's own lines of that allocation, from the Nomad agent's log
of its node (dtle writes no stdout/stderr), live, info or debug (`d`), on both Nomad dialects; a task
between restarts says when its next lines can come and shows those the console saw; a token without
`agent:read` reads one line naming it; the incident report (`E`) carries the lines seen, or says none were.
Driven through Pilot against the simulator, whose crash-looping job plays the recorded real dtle."""

from __future__ import annotations

import asyncio
import re

import pytest

from dtle_tui.app import DtleApp
from dtle_tui.live.agentlogs import SEEN
from dtle_tui.screens.job_detail import JobDetailScreen
from dtle_tui.screens.logs import LogsScreen
from dtle_tui.sim.realdtle import CRASH_LOOP_JOB, UNCONNECTED_JOB
from tests.helpers.screen import notifications, screen_text, visible_lines
from tests.helpers.wait import until
from tests.ui.test_logs_screen import open_logs

WRITE_TOKEN = "3f2e1d0c-0000-4b5a-9c8d-7e6f5a4b3c21"  # read-job and read-logs, no agent:read


@pytest.fixture(autouse=True)
def nothing_seen_before():
    SEEN.clear()  # the console's memory is the process's; each test starts as a console just started
    yield
    SEEN.clear()


def alloc_of(sim, job_id: str, group: str):
    return next(a for a in sim.scenario.allocations(job_id) if a.task_group == group)


async def advance(sim, seconds: float) -> None:
    """The cluster's clock jumps (the crash loop's next try comes), off the app's loop."""
    await asyncio.get_running_loop().run_in_executor(None, sim.scenario.advance, seconds)


async def job_detail_on(pilot, job_id: str, alloc_id: str) -> JobDetailScreen:
    """Job detail of `job_id` with the cursor on `alloc_id` (the job's spec loaded)."""
    app = pilot.app
    await until(pilot, lambda: app.snapshot is not None and app.snapshot.row(job_id), "the jobs")
    if not isinstance(app.screen, JobDetailScreen):
        app.open_job(job_id)
    await until(pilot, lambda: isinstance(app.screen, JobDetailScreen) and app.snapshot.detail is not None
                and app.snapshot.detail.job_id == job_id and app.snapshot.detail.job is not None
                and any(a.id == alloc_id for a in app.snapshot.detail.allocations)
                and app.screen.query("#allocs"), "the job detail")
    table = app.screen.query_one("#allocs")
    await until(pilot, lambda: alloc_id in table.row_keys, "the allocation's row")
    table.move_cursor(row=table.row_keys.index(alloc_id))
    await until(pilot, lambda: app.screen.selected_allocation() is not None
                and app.screen.selected_allocation().id == alloc_id, "the allocation selected")
    return app.screen


async def press_l(pilot) -> LogsScreen:
    app = pilot.app
    await pilot.press("l")
    await until(pilot, lambda: isinstance(app.screen, LogsScreen) and app.screen.tail is not None
                and app.screen.tail.state.following, "dtle's log followed")
    return app.screen


def shown(screen: LogsScreen) -> list:
    return list(screen.book.lines)


@pytest.mark.parametrize("dialect", ["0.11", "1.1"])
async def test_l_on_a_crash_looping_task_then_again_between_restarts_then_the_report(dialect, make_sim,
                                                                                     make_settings, tmp_path):
    sim = make_sim(dialect=dialect, seed=1, frozen=True)
    src, dest = alloc_of(sim, CRASH_LOOP_JOB, "src"), alloc_of(sim, CRASH_LOOP_JOB, "dest")
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(120, 30)) as pilot:
        await job_detail_on(pilot, CRASH_LOOP_JOB, src.id)
        screen = await press_l(pilot)
        assert screen.dtle and screen.alloc_id == src.id and screen.task_name == "src"
        text = screen_text(app)
        assert "dtle writes no stdout/stderr: its lines from the Nomad agent's log, live only" in text
        assert "src is between restarts: next lines at its next try" in text  # the monitor is live only
        assert shown(screen) == []  # nothing seen yet, and the agent streams no history

        await advance(sim, 600)  # its next try: it starts, fails, restarts, … then waits again
        failures = sum(1 for line in sim.agent_logs.lines(src.node.id)
                       if "onError" in line and "dtle.extractor" in line and f"job={CRASH_LOOP_JOB}" in line)
        assert failures >= 2  # the next try and the restarts after it (17 s apart), played at once
        await until(pilot, lambda: sum(1 for line in shown(screen) if "onError" in line) == failures,
                    "each of the src's failures")
        lines = shown(screen)
        assert any("StartTask" in line and f"allocID={src.id}" in line for line in lines)
        assert any("[ERROR] onError" in line and "Error 1193: Unknown system variable 'GTID_MODE'" in line
                   for line in lines)
        # Only this allocation's: the same node's log also had its dest's and another job's.
        node_log = sim.agent_logs.lines(src.node.id)
        assert any(dest.id in line for line in node_log) and any(UNCONNECTED_JOB in line for line in node_log)
        assert not any(dest.id in line or "dtle.applier" in line or UNCONNECTED_JOB in line for line in lines)
        assert all(src.id in line or f"job={CRASH_LOOP_JOB}" in line for line in lines)
        assert not any("[DEBUG]" in line for line in lines)  # info and above by default

        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), "back on job detail")
        await until(pilot, lambda: not sim.agent_logs.watched(src.node.id), "the stream closed with the screen")

        # Again, between restarts: when lines can come next, and what the console saw meanwhile.
        await job_detail_on(pilot, CRASH_LOOP_JOB, src.id)
        screen = await press_l(pilot)
        await until(pilot, lambda: "src is between restarts: next lines at its next try" in screen_text(app),
                    "the next try")
        again = shown(screen)
        # What was on screen when the test looked, and any line that reached the screen after that look
        # and before escape (a loaded run saw 2 more): the console shows all it saw, in order.
        seen = re.fullmatch(r"\[… (\d+) earlier lines of this allocation, as this console saw them\]", again[0])
        assert seen and int(seen.group(1)) >= len(lines), again[0]
        count = int(seen.group(1))
        assert again[1:len(lines) + 1] == lines and again[count + 1] == "[… live from here on]"
        assert len(again) > screen.log_widget.size.height  # more than the view holds: the newest in view
        await until(pilot, lambda: any("[… live from here on]" in row for row in visible_lines(app)),
                    "the newest line shown")

        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), "back on job detail")
        await pilot.press("E")
        await until(pilot, lambda: any("Incident report written:" in n for n in notifications(app)), "the report")
        report = next((tmp_path / "state").rglob(f"{CRASH_LOOP_JOB}-*.md")).read_text()
        section = report.split("## dtle's log lines seen by this console", 1)[1].split("\n## ", 1)[0]
        assert f"### Allocation {src.id[:8]} (src), {len(lines)} lines, oldest first" in section
        assert "Error 1193: Unknown system variable 'GTID_MODE'" in section and f"allocID={src.id}" in section
        assert dest.id[:8] not in section  # never followed: nothing seen of it


async def test_d_switches_to_debug_lines_and_back(make_sim, make_settings):
    sim = make_sim(dialect="1.1", seed=1, frozen=True)
    dest = next(a for a in sim.scenario.allocations("job1") if a.task_group == "dest" and a.client_status == "running")
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(120, 30)) as pilot:
        await job_detail_on(pilot, "job1", dest.id)
        screen = await press_l(pilot)
        node = dest.node.id
        before = len(sim.agent_logs.lines(node))
        await advance(sim, 10)  # dtle's applier logs its delay at debug level, every few seconds
        await until(pilot, lambda: any("TimestampContext.GetDelay" in line and "job=job1" in line
                                       for line in sim.agent_logs.lines(node)[before:]), "a debug line written")
        assert "dtle log  info" in screen_text(app) and not any("GetDelay" in line for line in shown(screen))

        await pilot.press("d")
        await until(pilot, lambda: screen.level == "debug" and screen.tail.state.following, "following at debug")
        assert "dtle log  debug" in screen_text(app)
        await advance(sim, 10)
        await until(pilot, lambda: any("[DEBUG] TimestampContext.GetDelay" in line and "job=job1" in line
                                       for line in shown(screen)), "dtle's debug lines")
        assert not any("job=job10" in line for line in shown(screen))  # its neighbour on the same node

        await pilot.press("d")
        await until(pilot, lambda: screen.level == "info" and "dtle log  info" in screen_text(app), "info again")
        assert not any("GetDelay" in line for line in shown(screen))  # the debug lines seen are left out too


async def test_a_token_without_agent_read_reads_one_line_naming_it(make_sim, make_settings):
    sim = make_sim(dialect="1.1", seed=1, frozen=True, acl_tokens={WRITE_TOKEN: "write"})
    src = alloc_of(sim, CRASH_LOOP_JOB, "src")
    app = DtleApp(make_settings(sim, env={"NOMAD_TOKEN": WRITE_TOKEN}))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_logs(pilot, app, src.id, CRASH_LOOP_JOB, ["src"])
        await until(pilot, lambda: any("403" in row for row in visible_lines(app)), "the refusal")
        assert screen.tail.state.final and "stopped" in str(screen.query_one("#logs-header").render())
        painted = " ".join(row.strip() for row in visible_lines(app))  # whole at 80 columns, wrapped
        assert "Nomad: permission denied (403: Permission denied) — the token needs agent:read" in painted
        assert WRITE_TOKEN not in painted
        assert not sim.agent_logs.watched(src.node.id) and shown(screen) == []
