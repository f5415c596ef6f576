"""LogTail against the simulated cluster over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest

from dtle_tui.api.nomad import NomadClient
from dtle_tui.live.logtail import LogTail
from dtle_tui.sim.scenario import HELPER_JOB, HELPER_TASK
from tests.helpers.wait import until


def alloc_of(sim, job_id: str, group: str = "dest", status: str = ""):
    record = sim.state.jobs[job_id]
    allocs = [a for a in record.allocs if a.task_group == group and (not status or a.client_status == status)]
    return max(allocs, key=lambda a: a.create_index)


def helper(sim):
    """The running task of the story's job that is not dtle's: it writes its own stdout and stderr, which
    a dtle task never does (docs/reference/real-dtle.md §2; dtle's lines: tests/core/test_agent_log_tail.py)."""
    return alloc_of(sim, HELPER_JOB, HELPER_TASK, "running")


@pytest.fixture
async def nomad(sim, make_settings):
    client = NomadClient(make_settings(sim).nomad, timeout=3)
    try:
        yield client
    finally:
        await client.aclose()


async def test_stderr_shows_what_the_task_wrote_there_only(sim, nomad):
    alloc = helper(sim)
    sim.logs.write(alloc.id, HELPER_TASK, "stdout", "on stdout only\n")
    tail = LogTail(nomad, alloc.id, HELPER_TASK, "stderr")
    task = asyncio.ensure_future(tail.run())
    try:
        await until(None, lambda: any("uninitialized value" in line for line in tail.lines_snapshot()),
                    "the line written to stderr before the tail started")
        assert not any("on stdout only" in line or "started" in line for line in tail.lines_snapshot())
    finally:
        task.cancel()


async def test_a_dtle_tasks_stdout_and_stderr_are_empty(sim, nomad):
    alloc = alloc_of(sim, "job1", status="running")
    for log_type in ("stdout", "stderr"):
        tail = LogTail(nomad, alloc.id, "dest", log_type)
        task = asyncio.ensure_future(tail.run())
        try:
            await until(None, lambda t=tail: t.state.following, "the stream to open")
            assert tail.lines_snapshot() == [] and tail.position is None  # not one byte in either file
        finally:
            task.cancel()


async def test_follow_then_reconnect_after_nomad_restart_without_duplicates(sim, nomad):
    alloc = helper(sim)
    got: list = []
    tail = LogTail(nomad, alloc.id, HELPER_TASK, "stdout", on_lines=lambda lines, dropped: got.extend(lines))
    tail.backoff_start_s, tail.backoff_cap_s = 0.05, 0.2
    task = asyncio.ensure_future(tail.run())
    try:
        await until(None, lambda: tail.state.following, "the stream to open")
        sim.logs.write(alloc.id, HELPER_TASK, "stdout", "marker one\n")
        await until(None, lambda: "marker one" in got, "a line written while following")

        sim.nomad_faults.down = True  # the agent stops: the stream drops, the port refuses
        await until(None, lambda: not tail.state.following and "retry in" in tail.state.message, "the drop")
        sim.logs.write(alloc.id, HELPER_TASK, "stdout", "written while down 1\nwritten while down 2\n")
        sim.nomad_faults.down = False
        sim.logs.write(alloc.id, HELPER_TASK, "stdout", "after restart\n")
        await until(None, lambda: "after restart" in got, "lines after the restart")

        mine = [line for line in got if not line.startswith("20")]  # the sim's own lines start with a date
        assert mine == ["marker one", "written while down 1", "written while down 2", "after restart"]
        assert len(got) == len(set(got)), "a line was delivered twice"
        assert tail.requests[0][0] == "end"
        origin, offset = tail.requests[-1]
        assert origin == "start" and 0 < offset <= sim.logs.size(alloc.id, HELPER_TASK, "stdout")
        assert tail.lines_snapshot() == got  # the ring buffer holds exactly what was delivered
    finally:
        task.cancel()


async def test_ring_buffer_stays_bounded_on_a_chatty_log(sim, nomad):
    alloc = helper(sim)
    tail = LogTail(nomad, alloc.id, HELPER_TASK, "stdout", max_lines=100)
    task = asyncio.ensure_future(tail.run())
    try:
        await until(None, lambda: tail.state.following, "the stream to open")
        sim.logs.write(alloc.id, HELPER_TASK, "stdout", "".join(f"chatty {i}\n" for i in range(5000)))
        await until(None, lambda: tail.lines_snapshot()[-1:] == ["chatty 4999"], "the last line")
        snap = tail.lines_snapshot()
        assert len(snap) == 100 and snap[0] == "chatty 4900"
    finally:
        task.cancel()


async def test_unknown_allocation_stops_with_a_clear_message(sim, nomad):
    tail = LogTail(nomad, "00000000-0000-0000-0000-000000000000", "dest")
    await asyncio.wait_for(tail.run(), 5)
    assert tail.state.final and "Unknown allocation" in tail.state.message
