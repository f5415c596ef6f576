"""AgentLogTail (live/agentlogs.py) over real HTTP against the simulator, both Nomad dialects: dtle's lines of
one allocation from its node's live log and nobody else's, what the console saw of it shown again later,
a task of another driver, and the 403 of a token without agent:read."""

from __future__ import annotations

import asyncio

import pytest

from dtle_tui.api.nomad import NomadClient
from dtle_tui.live.agentlogs import AgentLogTail, SeenLines
from dtle_tui.sim import SimCluster
from dtle_tui.sim.realdtle import CRASH_LOOP_JOB, UNCONNECTED_JOB
from dtle_tui.sim.scenario import HELPER_JOB, HELPER_TASK
from tests.helpers.wait import until

TOKENS = {"write": "5e0b6a31-0000-4c3d-8e7f-2a1b3c4d5e02", "management": "5e0b6a31-0000-4c3d-8e7f-2a1b3c4d5e03"}


@pytest.fixture(params=["0.11", "1.1"])
def cluster(request):
    with SimCluster(dialect=request.param, seed=3, frozen=True,
                    acl_tokens={secret: kind for kind, secret in TOKENS.items()}) as sim:
        yield sim


def alloc_of(sim, job_id: str, group: str):
    return next(a for a in sim.scenario.allocations(job_id) if a.task_group == group)


async def tail_of(sim, make_settings, alloc, task: str, token: str = "management", seen=None, level="info",
                  plain=False):
    settings = make_settings(sim, env={"NOMAD_TOKEN": TOKENS[token]})
    nomad = NomadClient(settings.nomad, timeout=5)
    tail = AgentLogTail(nomad, settings.nomad, alloc.id, task, level, seen=seen or SeenLines(), plain=plain)
    return nomad, tail, asyncio.ensure_future(tail.run())


async def stop(nomad, task) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await nomad.aclose()


@pytest.mark.parametrize("plain", [False, True], ids=["framed", "plain"])
async def test_the_allocations_lines_and_no_other(cluster, make_settings, plain):
    src = alloc_of(cluster, CRASH_LOOP_JOB, "src")
    seen = SeenLines()
    nomad, tail, task = await tail_of(cluster, make_settings, src, "src", seen=seen, plain=plain)
    try:
        await until(None, lambda: tail.state.following, "the stream to open")
        assert tail.node_id == src.node.id and tail.job_id == CRASH_LOOP_JOB and tail.driver == "dtle"
        assert tail.state.note.startswith("src is between restarts: next lines at its next try")
        await asyncio.get_running_loop().run_in_executor(None, cluster.scenario.advance, 600)
        await until(None, lambda: any("onError" in line for line in tail.lines_snapshot()), "the src's error")
        lines = tail.lines_snapshot()
        assert any(f"allocID={src.id}" in line and "StartTask" in line for line in lines)
        assert all(src.id in line or f"job={CRASH_LOOP_JOB}" in line or f"jobName={CRASH_LOOP_JOB}" in line
                   for line in lines)
        assert not any("NewApplier" in line or "dtle.applier" in line for line in lines)  # the dest's, same job
        # The node's log had other allocations' lines meanwhile (the same job's dest, another crash loop):
        node_log = cluster.agent_logs.lines(src.node.id)
        assert any(f"jobName={UNCONNECTED_JOB}" in line for line in node_log)
        assert not any(UNCONNECTED_JOB in line for line in lines)
        assert not any("[DEBUG]" in line for line in lines)  # info and above
        assert all("driver=dtle" not in line for line in lines)  # shortened for the view
        assert [line.text for line in seen.lines(make_settings(cluster).nomad.addr, src.id)]
    finally:
        await stop(nomad, task)


async def test_a_new_tail_shows_what_the_console_saw_earlier_then_follows(cluster, make_settings):
    src = alloc_of(cluster, CRASH_LOOP_JOB, "src")
    seen = SeenLines()
    nomad, tail, task = await tail_of(cluster, make_settings, src, "src", seen=seen, level="debug")
    try:
        await until(None, lambda: tail.state.following, "the stream to open")
        await asyncio.get_running_loop().run_in_executor(None, cluster.scenario.advance, 600)
        await until(None, lambda: any("onError" in line for line in tail.lines_snapshot()), "the src's error")
        first = tail.lines_snapshot()
    finally:
        await stop(nomad, task)
    assert any("[DEBUG]" in line for line in first)

    nomad, again, task = await tail_of(cluster, make_settings, src, "src", seen=seen)  # info this time
    try:
        await until(None, lambda: again.state.following, "the second stream")
        lines = again.lines_snapshot()
        infos = [line for line in first if "[DEBUG]" not in line]
        assert lines[0] == f"[… {len(infos)} earlier lines of this allocation, as this console saw them]"
        assert lines[1:-1] == infos and lines[-1] == "[… live from here on]"
    finally:
        await stop(nomad, task)


async def test_a_task_of_another_driver_is_said_so(cluster, make_settings):
    nomad, tail, task = await tail_of(cluster, make_settings, alloc_of(cluster, HELPER_JOB, HELPER_TASK),
                                      HELPER_TASK)
    try:
        await asyncio.wait_for(task, 10)
        assert tail.state.final and tail.state.driver == "raw_exec"
        assert "raw_exec" in tail.state.message and tail.lines_snapshot() == []
    finally:
        await stop(nomad, task)


async def test_a_token_without_agent_read_is_one_final_line_naming_it(cluster, make_settings):
    src = alloc_of(cluster, CRASH_LOOP_JOB, "src")
    nomad, tail, task = await tail_of(cluster, make_settings, src, "src", token="write")
    try:
        await asyncio.wait_for(task, 10)
        assert tail.state.final and not tail.state.following
        assert "403" in tail.state.message and "agent:read" in tail.state.message
        assert "\n" not in tail.state.message and TOKENS["write"] not in tail.state.message
    finally:
        await stop(nomad, task)
