"""LogsScreen driven through Pilot in the real DtleApp against the simulated cluster."""

from __future__ import annotations

from textual.widgets import Input, Log

from dtle_tui.app import DtleApp
from dtle_tui.screens.logs import LogsScreen, tasks_of
from tests.helpers.wait import until


def alloc_of(sim, job_id: str, status: str, group: str = "dest"):
    allocs = [a for a in sim.state.jobs[job_id].allocs if a.task_group == group and a.client_status == status]
    return max(allocs, key=lambda a: a.create_index)


async def open_logs(pilot, app, alloc_id: str, job_id: str, tasks=("dest",)) -> LogsScreen:
    await until(pilot, lambda: app.poller is not None and app.poller.nomad is not None, "the poller")
    app.push_screen(LogsScreen(alloc_id, list(tasks), job_id))
    await until(pilot, lambda: isinstance(app.screen, LogsScreen) and app.screen.query("#log"), "the logs screen")
    return app.screen


async def test_stderr_of_the_failed_job_and_search(sim, make_settings):
    job = sim.scenario.failed_job
    alloc = alloc_of(sim, job, "failed")
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_logs(pilot, app, alloc.id, job)
        log = screen.query_one("#log", Log)
        await until(pilot, lambda: any("applier started" in line for line in log.lines), "stdout lines")
        assert screen.log_type == "stdout"

        await pilot.press("tab")
        await until(pilot, lambda: any("[ERROR]" in line for line in log.lines), "the error on stderr")
        assert screen.log_type == "stderr"
        assert not any("applier started" in line for line in log.lines)  # stdout is gone
        error_lines = [i for i, line in enumerate(log.lines) if "[ERROR]" in line]

        await pilot.press("slash")
        search = screen.query_one("#log-search", Input)
        await until(pilot, lambda: search.has_focus, "the search box focused")
        await pilot.press(*"error", "enter")
        assert not search.display or search.has_class("hidden")
        assert screen.current_match == error_lines[-1]  # the newest match first
        assert "match" in str(screen.query_one("#logs-header").render())
        if len(error_lines) > 1:
            await pilot.press("N")
            assert screen.current_match == error_lines[-2]
            await pilot.press("n")
            assert screen.current_match == error_lines[-1]
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, LogsScreen), "back to the previous screen")


async def test_follow_pause_resume(sim, make_settings):
    alloc = alloc_of(sim, "job1", "running")
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_logs(pilot, app, alloc.id, "job1", tasks_of_sim(alloc))
        log = screen.query_one("#log", Log)
        await until(pilot, lambda: screen.tail is not None and screen.tail.state.following, "following")
        sim.logs.write(alloc.id, "dest", "stdout", "live line 1\n")
        await until(pilot, lambda: "live line 1" in log.lines, "a live line")
        assert log.lines[-1] == "live line 1" or "live line 1" in log.lines[-3:]  # newest at the bottom

        await pilot.press("space")
        assert screen.paused and screen.tail.paused
        sim.logs.write(alloc.id, "dest", "stdout", "while paused\n")
        await until(pilot, lambda: "while paused" in screen.tail.lines_snapshot(), "the tail to read on")
        await pilot.pause(0.05)
        assert "while paused" not in log.lines  # the view stands still
        assert "PAUSED" in str(screen.query_one("#logs-header").render())

        await pilot.press("space")
        await until(pilot, lambda: "while paused" in log.lines, "the held line after resume")
        assert log.lines.count("live line 1") == 1


async def test_escape_sequences_from_the_wire_are_stripped(sim, make_settings):
    alloc = alloc_of(sim, "job1", "running")
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_logs(pilot, app, alloc.id, "job1")
        log = screen.query_one("#log", Log)
        await until(pilot, lambda: screen.tail is not None and screen.tail.state.following, "following")
        sim.logs.write(alloc.id, "dest", "stdout", "\x1b[31mred\x1b[0m [b]markup[/b]\x1b]52;c;eA==\x07\n")
        await until(pilot, lambda: any("markup" in line for line in log.lines), "the line")
        line = next(line for line in log.lines if "markup" in line)
        assert line == "red [b]markup[/b]"


def tasks_of_sim(alloc) -> list:
    return list(alloc.tasks)


def test_tasks_of_model_allocation():
    class T:
        def __init__(self, name):
            self.name = name

    class A:
        task_states = (T("dest"),)
        task_group = "dest"

    class Pending:
        task_states = ()
        task_group = "src"

    assert tasks_of(A()) == ["dest"]
    assert tasks_of(Pending()) == ["src"]


async def test_l_in_job_detail_opens_the_selected_allocations_logs(sim, make_settings):
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.snapshot is not None and app.snapshot.row("job1"), "the jobs")
        app.open_job("job1")
        await until(
            pilot,
            lambda: app.screen.snapshot.detail is not None and app.screen.selected_allocation() is not None,
            "the job detail",
        )
        alloc = app.screen.selected_allocation()
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, LogsScreen) and app.screen.query("#log"), "logs")
        assert app.screen.alloc_id == alloc.id and app.screen.job_id == "job1"
        log = app.screen.query_one("#log", Log)
        await until(pilot, lambda: len(log.lines) > 0, "log lines")
