"""AgentMonitor (api/agentmonitor.py) over real HTTP against the simulator, both Nomad dialects: dtle's lines of
one allocation from a node's live log, framed and plain, cancellation, and the ApiErrors an operator reads."""

from __future__ import annotations

import asyncio

import pytest

from dtle_tui.api.agentmonitor import AgentMonitor
from dtle_tui.api.errors import ApiError, ErrorKind
from dtle_tui.model.agentlog import AllocationLog
from dtle_tui.sim import SimCluster
from dtle_tui.sim.realdtle import CRASH_LOOP_JOB
from tests.helpers.wait import until

TOKENS = {"read": "7c1d0e22-0000-4d6e-9f0a-6f1c2b3d4e01", "management": "7c1d0e22-0000-4d6e-9f0a-6f1c2b3d4e03"}


@pytest.fixture(params=["0.11", "1.1"])
def acl_sim(request):
    with SimCluster(dialect=request.param, seed=7, frozen=True, acl_tokens={s: k for k, s in TOKENS.items()}) as sim:
        yield sim


def node_of(sim, name: str = "dtle-node-1") -> str:
    return next(n.id for n in sim.scenario.nodes() if n.name == name)


def crash_loop_src(sim) -> str:
    return next(a.id for a in sim.scenario.allocations(CRASH_LOOP_JOB) if a.task_group == "src")


async def follow_src(sim, settings, plain: bool) -> list:
    """The crash-looping job's src lines seen while its next try happens."""
    picked: list = []
    pick = AllocationLog(crash_loop_src(sim), CRASH_LOOP_JOB, "src")
    monitor = AgentMonitor(settings.nomad, timeout=5)
    try:
        stream = monitor.follow(node_of(sim), "debug", plain=plain)
        await stream.open()
        await asyncio.get_running_loop().run_in_executor(None, sim.scenario.advance, 600)

        async def read() -> None:
            async for lines in stream:
                picked.extend(pick.pick(lines))
                if any(line.message == "onError" for line in picked):
                    return

        await asyncio.wait_for(read(), 30)
        await stream.aclose()
    finally:
        await monitor.aclose()
    return picked


@pytest.mark.parametrize("plain", [False, True])
async def test_a_nodes_live_log_gives_the_allocations_dtle_lines(acl_sim, make_settings, plain):
    settings = make_settings(acl_sim, env={"NOMAD_TOKEN": TOKENS["management"]})
    lines = await follow_src(acl_sim, settings, plain)
    messages = [line.message for line in lines]
    assert messages[0] == "StartTask" and "onError" in messages
    error = next(line for line in lines if line.message == "onError")
    assert (error.level, error.field("err"), error.field("job")) == \
        ("error", "Error 1193: Unknown system variable 'GTID_MODE'", CRASH_LOOP_JOB)


async def test_cancelling_the_reader_closes_the_stream(acl_sim, make_settings):
    settings = make_settings(acl_sim, env={"NOMAD_TOKEN": TOKENS["management"]})
    node = node_of(acl_sim)
    monitor = AgentMonitor(settings.nomad, timeout=5)
    try:
        stream = monitor.follow(node, "info")
        reader = asyncio.ensure_future(stream.__anext__())
        await until(None, lambda: acl_sim.agent_logs.watched(node), "the stream to open")
        reader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reader
        await stream.aclose()
        await until(None, lambda: not acl_sim.agent_logs.watched(node), "the server to see the stream closed")
        assert stream.closed
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()
    finally:
        await monitor.aclose()


@pytest.mark.parametrize("token, hint", [(None, "set NOMAD_TOKEN to a token with agent:read"),
                                         ("read", "the token needs agent:read")])
async def test_refused_names_agent_read(acl_sim, make_settings, token, hint):
    env = {"NOMAD_TOKEN": TOKENS[token]} if token else {}
    monitor = AgentMonitor(make_settings(acl_sim, env=env).nomad, timeout=5)
    try:
        with pytest.raises(ApiError) as refused:
            await monitor.follow(node_of(acl_sim)).open()
        assert refused.value.kind is ErrorKind.FORBIDDEN and refused.value.status == 403
        assert hint in refused.value.one_line() and TOKENS["read"] not in refused.value.one_line()
    finally:
        await monitor.aclose()


async def test_unknown_and_down_nodes_and_silence(sim, make_settings):
    monitor = AgentMonitor(make_settings(sim).nomad, timeout=5)
    try:
        with pytest.raises(ApiError) as unknown:
            await monitor.follow("6f3c9b1e-5d1a-11ee-9b8d-0242ac120002").open()
        assert unknown.value.kind is ErrorKind.NOT_FOUND and "Unknown node" in unknown.value.one_line()
        with pytest.raises(ApiError) as down:
            await monitor.follow(node_of(sim, "dtle-node-3")).open()
        assert down.value.kind is ErrorKind.NOT_FOUND and "No path to node" in down.value.one_line()
        with pytest.raises(ValueError):
            monitor.follow(node_of(sim), "loud")
        quiet = monitor.follow(node_of(sim), "error", plain=True, read_timeout=0.5)  # no heartbeat in plain
        request = quiet.request()
        assert request.url.path == "/v1/agent/monitor"
        assert dict(request.url.params) == {"node_id": node_of(sim), "log_level": "error", "plain": "true"}
        with pytest.raises(ApiError) as silent:
            await quiet.__anext__()
        assert silent.value.kind is ErrorKind.TIMEOUT
    finally:
        await monitor.aclose()
