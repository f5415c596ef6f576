"""NomadClient against the simulated cluster over real HTTP on 127.0.0.1, in both Nomad dialects."""

from __future__ import annotations

import asyncio
import time

import pytest

from dtle_tui.api.errors import ApiError, ErrorKind
from dtle_tui.api.nomad import Indexed, NomadClient
from dtle_tui.config.settings import NomadSettings
from dtle_tui.sim import SimCluster
from dtle_tui.sim.scenario import HELPER_JOB
from tests.helpers.wait import PATIENCE_S, until


@pytest.fixture(params=["0.11", "1.1"])
def cluster(request):
    with SimCluster(dialect=request.param, seed=1, frozen=True) as sim:
        yield sim


@pytest.fixture
async def nomad(cluster):
    client = NomadClient(NomadSettings(addr=cluster.nomad_addr), timeout=5)
    yield client
    await client.aclose()


def requests_to(sim, method: str, path: str) -> list:
    return [e for e in sim.requests.entries() if e[0] == "nomad" and e[1] == method and e[2] == path]


async def test_jobs(nomad):
    result = await nomad.jobs()
    assert isinstance(result, Indexed) and result.index > 0
    ids = {job["ID"] for job in result.value}
    assert {"job1", "job10", "mig-[b]ops"} <= ids


@pytest.mark.parametrize("job_id", ["job1", "mig-[b]ops"])
async def test_job_by_quoted_id(nomad, cluster, job_id):
    result = await nomad.job(job_id)
    assert result.value["ID"] == job_id and result.index > 0
    allocs = await nomad.job_allocations(job_id)
    assert allocs.value and all(a["JobID"] == job_id for a in allocs.value)
    raw_paths = [e for e in cluster.requests.entries() if e[0] == "nomad"]
    assert raw_paths  # the sim decodes the path as Go does; the ID round-tripped intact


async def test_unknown_job(nomad):
    with pytest.raises(ApiError) as info:
        await nomad.job("no-such-job")
    assert info.value.kind is ErrorKind.NOT_FOUND and info.value.status == 404
    assert info.value.detail == "job not found"
    assert (await nomad.job_allocations("no-such-job")).value == []  # 200 [] (nomad-api.md §2)


async def test_allocations_allocation_nodes(nomad):
    allocs = await nomad.allocations()
    assert allocs.index > 0 and allocs.value
    first = allocs.value[0]
    full = await nomad.allocation(first["ID"])
    assert full.value["ID"] == first["ID"] and "Job" in full.value
    nodes = await nomad.nodes()
    assert nodes.value and all("ID" in n for n in nodes.value)


async def test_allocation_not_a_uuid_is_500_with_the_text(nomad):
    with pytest.raises(ApiError) as info:
        await nomad.allocation("abc")
    err = info.value
    assert err.kind is ErrorKind.SERVER_ERROR and err.status == 500
    assert err.detail == "alloc lookup failed: index error: UUID must be 36 characters"
    assert err.one_line() == "Nomad answered 500: alloc lookup failed: index error: UUID must be 36 characters"


async def test_agent_self(nomad, cluster):
    agent = await nomad.agent_self()
    assert agent["config"]["Version"]["Version"] == cluster.dialect


async def test_region_and_namespace_on_every_request(cluster):
    client = NomadClient(NomadSettings(addr=cluster.nomad_addr, region="global", namespace="default"))
    try:
        await client.jobs()
        await client.job("job1")
        await client.nodes()
    finally:
        await client.aclose()
    queries = [e[3] for e in cluster.requests.entries() if e[0] == "nomad"]
    assert len(queries) == 3 and all("region=global" in q and "namespace=default" in q for q in queries)


async def test_register_bare_and_wrapped_then_deregister(nomad, cluster):
    spec = (await nomad.job("job1")).value
    bare = dict(spec, ID="job1-copy", Name="job1-copy")
    answer = await nomad.register(bare)
    assert answer["EvalID"] and answer["JobModifyIndex"] > 0
    assert (await nomad.job("job1-copy")).value["ID"] == "job1-copy"
    wrapped = {"Job": dict(spec, ID="team/job1", Name="team/job1")}
    await nomad.register(wrapped)
    assert (await nomad.job("team/job1")).value["ID"] == "team/job1"
    assert len(requests_to(cluster, "POST", "/v1/jobs")) == 2

    stopped = await nomad.deregister("job1-copy")
    assert stopped["EvalID"]
    assert (await nomad.job("job1-copy")).value["Stop"] is True
    await nomad.deregister("job1-copy", purge=True)
    with pytest.raises(ApiError) as info:
        await nomad.job("job1-copy")
    assert info.value.kind is ErrorKind.NOT_FOUND
    deletes = [e for e in cluster.requests.entries() if e[1] == "DELETE"]
    assert deletes[-1][2] == "/v1/job/job1-copy" and "purge=true" in deletes[-1][3]


async def test_register_rejected_is_bad_request_with_text(nomad):
    with pytest.raises(ApiError) as info:
        await nomad.register({"Job": {"Datacenters": ["dc1"]}})
    err = info.value
    assert err.kind is ErrorKind.BAD_REQUEST and err.status == 400
    assert err.detail == "Job ID hasn't been provided"
    assert "rejected" in err.one_line()


async def test_register_is_sent_once_even_when_it_fails(nomad, cluster):
    spec = (await nomad.job("job1")).value
    cluster.nomad_faults.status = 500
    with pytest.raises(ApiError) as info:
        await nomad.register(dict(spec, ID="x1"))
    assert info.value.kind is ErrorKind.SERVER_ERROR
    cluster.nomad_faults.status = None
    cluster.nomad_faults.down = True
    with pytest.raises(ApiError):
        await nomad.register(dict(spec, ID="x2"))
    cluster.nomad_faults.down = False
    assert len(requests_to(cluster, "POST", "/v1/jobs")) == 1  # the refused connection logged nothing


async def test_blocking_query_returns_on_change(cluster):
    async with NomadClient(NomadSettings(addr=cluster.nomad_addr), timeout=2) as nomad:
        first = await nomad.jobs()
        spec = (await nomad.job("job1")).value
        # Held for up to 10 minutes, far past this test's deadline: an answer at all is the change's.
        waiter = asyncio.ensure_future(nomad.jobs(index=first.index, wait="10m"))
        await until(None, lambda: cluster.requests.in_flight("nomad", "/v1/jobs"), "the query held")
        assert not waiter.done()
        await nomad.register(dict(spec, ID="brand-new"))
        changed = await asyncio.wait_for(waiter, PATIENCE_S)
        assert changed.index > first.index
        assert "brand-new" in {j["ID"] for j in changed.value}


async def test_blocking_query_times_out_with_same_index(cluster):
    # the client timeout (1s) is shorter than the wait: the request timeout must be extended by it
    async with NomadClient(NomadSettings(addr=cluster.nomad_addr), timeout=1) as nomad:
        first = await nomad.nodes()
        started = time.monotonic()
        again = await nomad.nodes(index=first.index, wait="1500ms")
        assert time.monotonic() - started >= 1.4  # held for its wait, and no timeout raised
        assert again.index == first.index


async def test_blocking_params_sent(nomad, cluster):
    first = await nomad.job("job1")
    cluster.reset_requests()
    await nomad.job("job1", index=first.index, wait="100ms")
    query = cluster.requests.entries()[-1][3]
    assert f"index={first.index}" in query and "wait=100ms" in query


async def _an_alloc_task(nomad):
    """The running task of the story's job that is not dtle's: a dtle task writes no stdout or stderr
    (docs/reference/real-dtle.md §2), this one does."""
    for alloc in (await nomad.job_allocations(HELPER_JOB)).value:
        if alloc["ClientStatus"] == "running":
            return alloc["ID"], next(iter(alloc["TaskStates"]))
    raise AssertionError(f"no running allocation of {HELPER_JOB}")


async def test_logs_plain_from_start_tracks_offset(nomad, cluster):
    alloc_id, task = await _an_alloc_task(nomad)
    cluster.logs.write(alloc_id, task, "stdout", b"hello from the sim\n")
    stream = nomad.logs(alloc_id, task, follow=False, origin="start")
    data = b"".join([chunk async for chunk in stream])
    assert data.endswith(b"hello from the sim\n")
    assert stream.offset == len(data) == stream.bytes_read
    tail = b"".join([c async for c in nomad.logs(alloc_id, task, follow=False, origin="start", offset=len(data) - 4)])
    assert tail == b"sim\n"
    resumed = stream.resume()
    assert resumed.origin == "start" and resumed.start_offset == len(data)


async def test_logs_follow_yields_new_bytes(nomad, cluster):
    alloc_id, task = await _an_alloc_task(nomad)
    async with nomad.logs(alloc_id, task, "stderr", follow=True, origin="end") as stream:
        await stream.open()
        cluster.logs.write(alloc_id, task, "stderr", b"followed line\n")
        got = b""
        while b"followed line" not in got:
            got += await asyncio.wait_for(stream.__anext__(), 10)
        assert stream.offset is None and stream.bytes_read == len(got)


async def test_logs_framed(nomad, cluster):
    alloc_id, task = await _an_alloc_task(nomad)
    stream = nomad.logs(alloc_id, task, follow=False, origin="start", plain=False)
    raw = b"".join([chunk async for chunk in stream])
    assert raw.startswith(b"{") and b'"Data"' in raw


async def test_logs_errors(nomad):
    with pytest.raises(ApiError) as info:
        async for _ in nomad.logs("00000000-0000-0000-0000-000000000000", "dest", follow=False):
            pass
    assert info.value.kind is ErrorKind.NOT_FOUND and "Unknown allocation" in info.value.detail
    with pytest.raises(ValueError):
        nomad.logs("x", "t", "stdlog")
