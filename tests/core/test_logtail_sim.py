"""LogTail against the simulated cluster over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest

from dtle_tui.api.nomad import NomadClient
from dtle_tui.live.logtail import LogTail
from tests.helpers.wait import until


def alloc_of(sim, job_id: str, group: str = "dest", status: str = ""):
    record = sim.state.jobs[job_id]
    allocs = [a for a in record.allocs if a.task_group == group and (not status or a.client_status == status)]
    return max(allocs, key=lambda a: a.create_index)


@pytest.fixture
async def nomad(sim, make_settings):
    client = NomadClient(make_settings(sim).nomad, timeout=3)
    try:
        yield client
    finally:
        await client.aclose()


async def test_failed_task_stderr_shows_its_error(sim, nomad):
    alloc = alloc_of(sim, sim.scenario.failed_job, status="failed")
    tail = LogTail(nomad, alloc.id, "dest", "stderr")
    task = asyncio.ensure_future(tail.run())
    try:
        await until(None, lambda: any("[ERROR]" in line for line in tail.lines_snapshot()), "the error line")
        assert all(f"job={sim.scenario.failed_job}" in line for line in tail.lines_snapshot() if "ERROR" in line)
    finally:
        task.cancel()


async def test_follow_then_reconnect_after_nomad_restart_without_duplicates(sim, nomad):
    alloc = alloc_of(sim, "job1", status="running")
    got: list = []
    tail = LogTail(nomad, alloc.id, "dest", "stdout", on_lines=lambda lines, dropped: got.extend(lines))
    tail.backoff_start_s, tail.backoff_cap_s = 0.05, 0.2
    task = asyncio.ensure_future(tail.run())
    try:
        await until(None, lambda: tail.state.following, "the stream to open")
        sim.logs.write(alloc.id, "dest", "stdout", "marker one\n")
        await until(None, lambda: "marker one" in got, "a line written while following")

        sim.nomad_faults.down = True  # the agent stops: the stream drops, the port refuses
        await until(None, lambda: not tail.state.following and "retry in" in tail.state.message, "the drop")
        sim.logs.write(alloc.id, "dest", "stdout", "written while down 1\nwritten while down 2\n")
        sim.nomad_faults.down = False
        sim.logs.write(alloc.id, "dest", "stdout", "after restart\n")
        await until(None, lambda: "after restart" in got, "lines after the restart")

        mine = [line for line in got if not line.startswith("20")]  # the sim's own lines start with a date
        assert mine == ["marker one", "written while down 1", "written while down 2", "after restart"]
        assert len(got) == len(set(got)), "a line was delivered twice"
        assert tail.requests[0][0] == "end"
        origin, offset = tail.requests[-1]
        assert origin == "start" and 0 < offset <= sim.logs.size(alloc.id, "dest", "stdout")
        assert tail.lines_snapshot() == got  # the ring buffer holds exactly what was delivered
    finally:
        task.cancel()


async def test_ring_buffer_stays_bounded_on_a_chatty_log(sim, nomad):
    alloc = alloc_of(sim, "job10", status="running")
    tail = LogTail(nomad, alloc.id, "dest", "stdout", max_lines=100)
    task = asyncio.ensure_future(tail.run())
    try:
        await until(None, lambda: tail.state.following, "the stream to open")
        sim.logs.write(alloc.id, "dest", "stdout", "".join(f"chatty {i}\n" for i in range(5000)))
        await until(None, lambda: tail.lines_snapshot()[-1:] == ["chatty 4999"], "the last line")
        snap = tail.lines_snapshot()
        assert len(snap) == 100 and snap[0] == "chatty 4900"
    finally:
        task.cancel()


async def test_unknown_allocation_stops_with_a_clear_message(sim, nomad):
    tail = LogTail(nomad, "00000000-0000-0000-0000-000000000000", "dest")
    await asyncio.wait_for(tail.run(), 5)
    assert tail.state.final and "Unknown allocation" in tail.state.message
