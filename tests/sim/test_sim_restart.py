"""The simulator's restart control (issue 16): an agent that comes back as a fresh `-dev` agent."""

from __future__ import annotations

import pytest

from dtle_tui.sim import SimCluster
from tests.helpers import loopback
from tests.helpers.wait import until_blocking


def listing(addr: str, path: str) -> tuple[int, list]:
    answer = loopback.get(addr + path, timeout=5)
    answer.raise_for_status()
    return int(answer.headers["X-Nomad-Index"]), answer.json()


# While an agent restarts its port refuses or drops connections: until_blocking counts that as not yet.
after_restart = until_blocking


@pytest.mark.parametrize("dialect", ["1.1", "0.11"])
def test_nomad_restarts_with_the_same_jobs_new_ids_and_low_indexes(dialect):
    with SimCluster(dialect=dialect, seed=3, frozen=True) as sim:
        addr = sim.nomad_addr
        jobs_index, jobs = listing(addr, "/v1/jobs")
        allocs_index, allocs = listing(addr, "/v1/allocations")
        _, nodes = listing(addr, "/v1/nodes")
        answer = loopback.put(addr + "/_sim/restart/nomad", timeout=5)
        assert answer.status_code == 200
        old_ids = {a["ID"] for a in allocs}
        after_restart(lambda: not sim.nomad_faults.down and sim.scenario.allocations()
                      and not {a.id for a in sim.scenario.allocations()} & old_ids, "the restart")
        new_jobs_index, new_jobs = after_restart(lambda: listing(addr, "/v1/jobs"), "the jobs")
        new_allocs_index, new_allocs = after_restart(lambda: listing(addr, "/v1/allocations"), "the allocations")
        _, new_nodes = after_restart(lambda: listing(addr, "/v1/nodes"), "the nodes")
        assert new_jobs_index < jobs_index and new_allocs_index < allocs_index
        # The jobs that were not stopped, registered again at indexes from the start.
        assert {j["ID"] for j in new_jobs} == {j["ID"] for j in jobs if not j["Stop"]}
        assert all(j["CreateIndex"] <= new_jobs_index for j in new_jobs)
        assert not {a["ID"] for a in new_allocs} & {a["ID"] for a in allocs}
        assert {n["Name"] for n in new_nodes} == {n["Name"] for n in nodes}
        assert not {n["ID"] for n in new_nodes} & {n["ID"] for n in nodes}


def test_a_stream_resumed_past_an_empty_buffer_gets_what_comes_next():
    """Nomad 1.1.2's EventBroker on an empty buffer hands out the next frames whatever their index."""
    with SimCluster(dialect="1.1", seed=3, frozen=True) as sim:
        sim.restart_nomad()
        with sim.state.lock:
            sim.state.events.clear()
        with loopback.stream("GET", sim.nomad_addr + "/v1/event/stream", params={"index": "999999", "topic": "Job"},
                          timeout=5) as stream:
            lines = stream.iter_lines()
            assert next(lines) == "{}"
            job = sim.scenario.job("job1")
            loopback.delete(sim.nomad_addr + "/v1/job/job1").raise_for_status()
            assert job is not None
            line = next(line for line in lines if line.strip() and line != "{}")
            assert '"Key":"job1"' in line and '"Index":' in line


def test_consul_restarts_empty_with_a_low_index():
    with SimCluster(dialect="1.1", seed=3, frozen=True) as sim:
        addr = sim.consul_addr
        before = loopback.get(addr + "/v1/kv/dtle", params={"recurse": ""}, timeout=5)
        assert before.status_code == 200
        assert loopback.put(addr + "/_sim/restart/consul", timeout=5).status_code == 200
        after_restart(lambda: loopback.get(addr + "/v1/kv/dtle", params={"recurse": ""}, timeout=5).status_code == 404,
                      "the restart")
        after = after_restart(lambda: loopback.get(addr + "/v1/kv/dtle", params={"recurse": ""}, timeout=5), "Consul")
        assert int(after.headers["X-Consul-Index"]) < int(before.headers["X-Consul-Index"])
        sim.scenario.advance(30)  # the running dtle tasks write their positions again
        again = after_restart(lambda: loopback.get(addr + "/v1/kv/dtle", params={"recurse": ""}, timeout=5), "Consul")
        again = again.json()
        keys = {e["Key"] for e in again}
        assert "dtle/job1/Gtid" in keys and not any(k.startswith(f"dtle/{sim.scenario.orphan_job}/") for k in keys)
