"""LogsScreen driven through Pilot in the real DtleApp against the simulated cluster: stdout and stderr of a
task of another driver than dtle (the story's raw_exec job; dtle writes none), and `l` on Job detail. dtle's
own lines behind `l`: tests/ui/test_dtle_log_ui.py."""

from __future__ import annotations

from textual.widgets import Input, Log

from dtle_tui.app import DtleApp
from dtle_tui.screens.logs import LogsScreen, tasks_of
from dtle_tui.sim.scenario import HELPER_JOB, HELPER_TASK
from tests.helpers.screen import screen_text, visible_lines
from tests.helpers.wait import until


def alloc_of(sim, job_id: str, status: str, group: str = "dest"):
    allocs = [a for a in sim.state.jobs[job_id].allocs if a.task_group == group and a.client_status == status]
    return max(allocs, key=lambda a: a.create_index)


def helper(sim):
    """The running task of the story's raw_exec job: it writes its own stdout and stderr."""
    return alloc_of(sim, HELPER_JOB, "running", HELPER_TASK)


async def open_logs(pilot, app, alloc_id: str, job_id: str, tasks=("dest",)) -> LogsScreen:
    await until(pilot, lambda: app.poller is not None and app.poller.nomad is not None, "the poller")
    app.push_screen(LogsScreen(alloc_id, list(tasks), job_id))
    await until(pilot, lambda: isinstance(app.screen, LogsScreen) and app.screen.query("#log"), "the logs screen")
    return app.screen


async def test_stdout_then_stderr_of_a_task_of_another_driver_and_search(sim, make_settings):
    alloc = helper(sim)
    for n in range(3):
        sim.logs.write(alloc.id, HELPER_TASK, "stderr", f"[ERROR] lost the heartbeat table ({n})\n")
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(120, 30)) as pilot:
        # Opened without the job's spec at hand: the screen learns the driver from the allocation.
        screen = await open_logs(pilot, app, alloc.id, HELPER_JOB, [HELPER_TASK])
        log = screen.query_one("#log", Log)
        await until(pilot, lambda: any("heartbeat started" in line for line in log.lines), "stdout lines")
        assert screen.log_type == "stdout" and not screen.dtle
        assert "dtle writes no stdout/stderr" not in screen_text(app)

        await pilot.press("tab")
        await until(pilot, lambda: any("[ERROR]" in line for line in log.lines), "the error on stderr")
        assert screen.log_type == "stderr"
        assert not any("heartbeat started" in line for line in log.lines)  # stdout is gone
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
    alloc = helper(sim)
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await following(pilot, alloc)
        log = screen.query_one("#log", Log)
        sim.logs.write(alloc.id, HELPER_TASK, "stdout", "live line 1\n")
        await until(pilot, lambda: "live line 1" in log.lines, "a live line")
        assert log.lines[-1] == "live line 1" or "live line 1" in log.lines[-3:]  # newest at the bottom

        await pilot.press("space")
        assert screen.paused and screen.tail.paused
        sim.logs.write(alloc.id, HELPER_TASK, "stdout", "while paused\n")
        await until(pilot, lambda: "while paused" in screen.tail.lines_snapshot(), "the tail to read on")
        await pilot.pause(0.05)
        assert "while paused" not in log.lines  # the view stands still
        assert "PAUSED" in str(screen.query_one("#logs-header").render())

        await pilot.press("space")
        await until(pilot, lambda: "while paused" in log.lines, "the held line after resume")
        assert log.lines.count("live line 1") == 1


async def test_escape_sequences_from_the_wire_are_stripped(sim, make_settings):
    alloc = helper(sim)
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await following(pilot, alloc)
        log = screen.query_one("#log", Log)
        sim.logs.write(alloc.id, HELPER_TASK, "stdout", "\x1b[31mred\x1b[0m [b]markup[/b]\x1b]52;c;eA==\x07\n")
        await until(pilot, lambda: any("markup" in line for line in log.lines), "the line")
        line = next(line for line in log.lines if "markup" in line)
        assert line == "red [b]markup[/b]"


def tasks_of_sim(alloc) -> list:
    return list(alloc.tasks)


async def following(pilot, alloc) -> LogsScreen:
    """The logs of a running task of the raw_exec job, open on its stdout and following."""
    screen = await open_logs(pilot, pilot.app, alloc.id, alloc.job_id, tasks_of_sim(alloc))
    await until(pilot, lambda: not screen.dtle and screen.tail is not None and screen.tail.state.following,
                "following its stdout")
    return screen


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


async def logs_from_job_detail(pilot, job_id: str) -> LogsScreen:
    """`l` on Job detail's selected allocation (the job's spec loaded: the screen knows the driver)."""
    app = pilot.app
    await until(pilot, lambda: app.snapshot is not None and app.snapshot.row(job_id), "the jobs")
    app.open_job(job_id)
    await until(pilot, lambda: app.screen.snapshot.detail is not None and app.screen.snapshot.detail.job is not None
                and app.screen.selected_allocation() is not None, "the job detail")
    alloc = app.screen.selected_allocation()
    await pilot.press("l")
    await until(pilot, lambda: isinstance(app.screen, LogsScreen) and app.screen.query("#log"), "logs")
    assert app.screen.alloc_id == alloc.id and app.screen.job_id == job_id
    return app.screen


async def test_l_in_job_detail_opens_the_selected_allocations_logs(sim, make_settings):
    app = DtleApp(make_settings(sim))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await logs_from_job_detail(pilot, HELPER_JOB)
        assert not screen.dtle  # known from the job's spec, before any request
        log = screen.query_one("#log", Log)
        await until(pilot, lambda: any("heartbeat started" in line for line in log.lines), "its stdout")
        await until(pilot, lambda: "stdout/stderr" in visible_lines(app)[-1], "tab in the footer")
        assert "Debug/info" not in visible_lines(app)[-1]
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, LogsScreen), "back")

        screen = await logs_from_job_detail(pilot, "job1")  # a dtle task: dtle's lines, never stdout
        assert screen.dtle
        await until(pilot, lambda: screen.tail is not None and screen.tail.state.following, "following")
        assert "dtle writes no stdout/stderr: its lines from the Nomad agent's log, live only" in screen_text(app)
        assert "dtle log  info  task dest" in screen_text(app)
        await until(pilot, lambda: "Debug/info" in visible_lines(app)[-1], "d in the footer")
        assert "stdout/stderr" not in visible_lines(app)[-1]
        await pilot.press("tab")  # nothing to switch to
        await pilot.pause(0.1)
        assert screen.dtle and "dtle log  info" in screen_text(app)
