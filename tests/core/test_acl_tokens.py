"""The tokens operators really have (issue 18): the poller against policy-scoped tokens in the simulator.

A namespace read or write token cannot read /v1/nodes nor /v1/agent/self (403), and Nomad 1.1.2 refuses
an event stream subscription with a topic it cannot read (500 Permission denied). The job data must stay
live anyway, and what is refused is that endpoint's own state, never the whole of Nomad being stale.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from dtle_tui.sim import SimCluster
from dtle_tui.sim.server import text
from tests.core.test_actions import make_actions, state_env, writes  # noqa: F401 - fixtures
from tests.core.test_poller_events import Watcher, stream_state
from tests.helpers import loopback
from tests.helpers.paths import FIXTURES
from tests.helpers.sim import touch_dest

TOKENS = {
    "read": "3f1c2b4a-0000-4d6e-9f0a-6f1c2b3d4e01",
    "write": "3f1c2b4a-0000-4d6e-9f0a-6f1c2b3d4e02",
    "management": "3f1c2b4a-0000-4d6e-9f0a-6f1c2b3d4e03",
}


def cluster(dialect: str) -> SimCluster:
    return SimCluster(dialect=dialect, seed=1, frozen=True,
                      acl_tokens={secret: kind for kind, secret in TOKENS.items()})


def watcher(sim: SimCluster, tmp_path, kind: str) -> Watcher:
    from tests.helpers.sim import settings_for

    w = Watcher(sim, tmp_path)
    w.poller.settings = settings_for(sim, tmp_path, env={"NOMAD_TOKEN": TOKENS[kind]})
    return w


def register(sim: SimCluster, job_id: str) -> None:
    spec = json.loads((FIXTURES / "reference" / "dtle_job_example.json").read_text())
    spec["Job"]["ID"] = job_id
    loopback.post(sim.nomad_addr + "/v1/jobs", json=spec,
               headers={"X-Nomad-Token": TOKENS["management"]}).raise_for_status()


def stream_topics(sim: SimCluster) -> list:
    asked = [e[3] for e in sim.requests.entries() if e[2] == "/v1/event/stream"]
    return [parse_qs(q).get("topic", []) for q in asked]


@pytest.mark.parametrize("dialect", ["1.1", "0.11"])
@pytest.mark.parametrize("kind", ["read", "write", "management"])
def test_each_token_kind_keeps_the_job_data_live(tmp_path, dialect, kind, long_blocking_queries):
    with cluster(dialect) as sim:
        w = watcher(sim, tmp_path, kind)
        w.poller.start()
        try:
            w.until(lambda: w.last.rows and w.last.nomad.ok, "the jobs listed, Nomad ok")
            namespace_only = kind != "management"
            if namespace_only:
                w.until(lambda: w.last.nodes_state.refused, "the nodes refused, on their own")
                assert w.last.nodes == () and "permission denied" in w.last.nodes_state.error
            else:
                w.until(lambda: len(w.last.nodes) == 3, "the nodes")
            if dialect == "1.1":
                w.until(lambda: stream_state(w) == "live", "the event stream live")
                # Only the topics the token can read: Node is left out for a namespace token.
                assert ("Node" in stream_topics(sim)[-1]) is not namespace_only
                assert {"Job", "Allocation"} <= set(stream_topics(sim)[-1])
            else:
                w.until(lambda: sim.requests.in_flight("nomad", "/v1/jobs"), "a held blocking query")
            register(sim, f"new-{kind}")
            w.until(lambda: w.row(f"new-{kind}"), "a job registered meanwhile")
            touch_dest(sim, "job1", "failed")
            w.until(lambda: w.row("job1").dest.failed == 1, "job1's dest failed")
            assert w.last.nomad.error is None  # never "Nomad stale" for what the token may not read
            assert w.last.nomad_version == ("" if namespace_only else sim.dialect)
        finally:
            w.poller.stop()


def test_a_stream_refusing_topics_is_asked_for_fewer_then_left_for_blocking_queries(tmp_path, long_blocking_queries):
    with SimCluster(dialect="1.1", seed=1, frozen=True) as sim:
        real = sim._nomad.app
        refused = {"Node"}

        def refuse(request):  # 1.1.2 refuses the whole subscription with 500 when one topic is not allowed
            if request.path == "/v1/event/stream" and refused & set(request.query.get("topic", [])):
                return text(500, "Permission denied")
            return real(request)

        sim._nomad.app = refuse
        w = Watcher(sim, tmp_path)
        w.poller.start()
        try:
            w.until(lambda: stream_state(w) == "live", "live without Node")
            assert stream_topics(sim)[-1] == ["Job", "Allocation", "Evaluation"]
            register(sim, "first")
            w.until(lambda: w.row("first"), "a new job by the stream")
            # A token that may read nothing of the stream: Node, then Evaluation, then blocking queries.
            refused.update({"Job", "Allocation", "Evaluation"})
            sim.drop_event_streams()
            w.until(lambda: stream_state(w) == "off", "the stream given up")
            assert stream_topics(sim)[-1] == ["Job", "Allocation"]
            register(sim, "second")
            w.until(lambda: w.row("second"), "a new job by blocking queries")
            assert w.last.nomad.error is None
        finally:
            w.poller.stop()


# ---- write paths ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["1.1", "0.11"])
async def test_a_read_token_is_refused_verbatim_and_told_the_capability(dialect, make_actions):  # noqa: F811
    with cluster(dialect) as sim:
        actions = make_actions(sim, nomad_token=TOKENS["read"])
        result = await actions.delete_job("job1")
        assert not result.ok
        assert "Permission denied" in result.error and "403" in result.error and "submit-job" in result.error
        assert writes(sim) == [("nomad", "DELETE", "/v1/job/job1")]  # sent once, refused, nothing more
        assert sim.scenario.job("job1")["Stop"] is False
        spec = json.loads((FIXTURES / "reference" / "dtle_job_example.json").read_text())
        spec["Job"]["ID"] = "brand-new"
        added = await actions.add_job(spec)
        assert not added.ok and "Permission denied" in added.error and "submit-job" in added.error


@pytest.mark.parametrize("dialect", ["1.1", "0.11"])
async def test_consul_down_does_not_block_a_stop_or_a_purge(dialect, make_actions, state_env):  # noqa: F811
    with cluster(dialect) as sim:
        actions = make_actions(sim, nomad_token=TOKENS["write"])
        register(sim, "mine")  # registered under ACLs: 1.1 stores the token's accessor in NomadTokenID
        stored = loopback.get(sim.nomad_addr + "/v1/job/mine", headers={"X-Nomad-Token": TOKENS["read"]}).json()
        assert bool(stored.get("NomadTokenID")) is (dialect == "1.1")
        sim.consul_faults.down = True
        for job_id, purge in (("mine", False), ("job10", True)):
            result = await (actions.purge_job(job_id) if purge else actions.delete_job(job_id))
            assert result.ok, result.text()
            assert any("Consul keys NOT saved" in note for note in result.notes)
            assert not (result.backup / "consul.json").exists()
            saved = json.loads((result.backup / "job.json").read_text())
            assert saved["ID"] == job_id and "NomadTokenID" not in saved
            meta = json.loads((result.backup / "meta.json").read_text())
            assert meta["consul_saved"] is False
        assert sim.scenario.job("mine")["Stop"] is True and sim.scenario.job("job10") is None
        # The Gtid reset does touch Consul: it keeps refusing without it, and sends nothing.
        before = writes(sim)
        reset = await actions.reset_gtid("legacy-stopped")
        assert not reset.ok and "Consul" in reset.summary
        assert writes(sim) == before


async def test_logs_refused_to_a_read_token_say_it_needs_read_logs(make_settings):
    import asyncio

    from dtle_tui.api.nomad import NomadClient
    from dtle_tui.live.logtail import LogTail

    with cluster("1.1") as sim:
        client = NomadClient(make_settings(sim, env={"NOMAD_TOKEN": TOKENS["read"]}).nomad, timeout=3)
        alloc = next(a for a in sim.scenario.allocations("job1") if a.client_status == "running")
        tail = LogTail(client, alloc.id, "dest", "stdout")
        try:
            await asyncio.wait_for(tail.run(), 5)  # a 403 is final: the tail ends by itself
            assert tail.state.final and "Permission denied" in tail.state.message
            assert "the token needs read-logs" in tail.state.message
        finally:
            await client.aclose()
