"""The simulated 1.1.2 event stream against hashicorp/nomad@v1.1.2 (command/agent/event_endpoint.go,
nomad/stream/{event_broker,subscription,ndjson}.go, nomad/state/events.go) and the real recordings."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from dtle_tui.api.eventstream import parse_event_line
from dtle_tui.model.wire import ParseError
from dtle_tui.sim import SimCluster
from tests.helpers import loopback
from tests.helpers.paths import FIXTURES
from tests.helpers.sim import touch_dest
from tests.helpers.wait import PATIENCE_S

REAL = FIXTURES / "real-nomad"
TOPICS = [("topic", "Job"), ("topic", "Allocation"), ("topic", "Node"), ("topic", "Evaluation")]


@pytest.fixture
def sim():
    with SimCluster(dialect="1.1", seed=1, frozen=True) as cluster:
        yield cluster


def frames(sim, params, count: int) -> list:
    """The first `count` lines after the opening heartbeat (buffered frames come at once)."""
    out = []
    with loopback.Client(base_url=sim.nomad_addr, timeout=httpx.Timeout(PATIENCE_S)) as client:
        with client.stream("GET", "/v1/event/stream", params=params) as answer:
            assert answer.status_code == 200 and answer.headers["cache-control"] == "no-cache"
            lines = answer.iter_lines()
            assert next(lines) == "{}"
            for line in lines:
                out.append(json.loads(line))
                if len(out) == count:
                    break
    return out


def current_index(sim) -> int:
    return int(loopback.get(sim.nomad_addr + "/v1/jobs").headers["X-Nomad-Index"])


def test_the_first_line_and_key_order_match_the_recording(sim):
    recorded = json.loads((REAL / "1.1.2" / "logs_and_stream.json").read_text())["event_stream_first_lines"]
    start = current_index(sim)
    spec = {"Job": {"ID": "real-ok", "Datacenters": ["dc1"], "TaskGroups": [
        {"Name": "src", "Tasks": [{"Name": "src", "Driver": "dtle", "Config": {}}]}]}}
    loopback.post(sim.nomad_addr + "/v1/jobs", json=spec).raise_for_status()
    with loopback.Client(base_url=sim.nomad_addr, timeout=httpx.Timeout(PATIENCE_S)) as client:
        with client.stream("GET", "/v1/event/stream", params=[("index", str(start))]) as answer:
            lines = answer.iter_lines()
            first, job_line = next(lines), next(lines)
    assert first + "\n" == recorded[0]
    assert parse_event_line(recorded[0]) is None  # the heartbeat
    with pytest.raises(ParseError):  # the recorded lines are cut: a clear error, not a crash
        parse_event_line(recorded[1])
    # Same structure and key order as the real JobRegistered line (recorded cut at 1,500 characters).
    shape = re.compile(r'\{"Events":\[\{"FilterKeys":null,"Index":\d+,"Key":"real-ok","Namespace":"default",'
                       r'"Payload":\{"Job":\{"Affinities":null,"AllAtOnce":false,"Constraints":null,')
    assert shape.match(recorded[1]) and shape.match(job_line)
    job = json.loads(job_line)["Events"][0]["Payload"]["Job"]
    assert "JobSummary" not in job and job["ID"] == "real-ok"
    assert json.loads(job_line)["Events"][0]["Type"] == "JobRegistered"


def test_an_allocation_event_carries_the_full_allocation_without_its_job(sim):
    start = current_index(sim)
    alloc = touch_dest(sim, "job1", "failed")
    (frame,) = frames(sim, [("index", str(start + 1))] + TOPICS, 1)
    kinds = [(e["Topic"], e["Type"]) for e in frame["Events"]]
    # The job's status did not change here (src still runs): one event.
    assert kinds == [("Allocation", "AllocationUpdated")]
    event = frame["Events"][0]
    payload = event["Payload"]["Allocation"]
    assert event["Key"] == alloc.id and event["FilterKeys"] == ["job1", alloc.deployment_id]
    assert payload["Job"] is None and payload["ID"] == alloc.id and payload["ClientStatus"] == "failed"
    assert payload["ModifyIndex"] == frame["Index"] == event["Index"]
    assert "AllocModifyIndex" in payload and "TaskStates" in payload  # the full Allocation, not the stub
    assert list(payload) == sorted(payload)


def test_a_status_change_rides_in_the_allocations_frame(sim):
    start = current_index(sim)
    state = sim.state
    with state.lock:
        for alloc in [a for a in state.allocs.values() if a.job_id == "job1" and not a.terminal]:
            alloc.client_status = "complete"
            state.touch(alloc)
    got = frames(sim, [("index", str(start + 1))] + TOPICS, 2)
    last = got[-1]
    assert [(e["Topic"], e["Type"]) for e in last["Events"]] == [("Allocation", "AllocationUpdated"),
                                                                ("Job", "AllocationUpdated")]
    assert last["Events"][1]["Payload"]["Job"]["Status"] == "dead"


def test_stop_and_purge(sim):
    start = current_index(sim)
    loopback.delete(sim.nomad_addr + "/v1/job/job1").raise_for_status()
    stop = frames(sim, [("index", str(start + 1))] + TOPICS, 2)
    assert [(e["Topic"], e["Type"]) for e in stop[0]["Events"]] == [("Job", "JobDeregistered")]
    assert stop[0]["Events"][0]["Payload"]["Job"]["Stop"] is True
    assert [(e["Topic"], e["Type"]) for e in stop[1]["Events"]] == [("Evaluation", "JobDeregistered")]
    assert stop[0]["Index"] == stop[1]["Index"]  # the eval in a transaction of its own, same index

    start = current_index(sim)
    loopback.delete(sim.nomad_addr + "/v1/job/job10", params={"purge": "true"}).raise_for_status()
    (purge,) = frames(sim, [("index", str(start + 1))] + TOPICS, 1)
    (event,) = purge["Events"]  # no Job event for a deleted job (events.go)
    assert (event["Topic"], event["Type"]) == ("Evaluation", "JobDeregistered")
    assert event["Payload"]["Evaluation"]["JobID"] == "job10" and event["FilterKeys"] == ["job10", ""]


def test_topic_key_and_namespace_filters(sim):
    start = current_index(sim)
    touch_dest(sim, "job1")
    touch_dest(sim, "job10")
    only_job10 = frames(sim, [("index", str(start + 1)), ("topic", "Allocation:job10")], 1)
    assert only_job10[0]["Events"][0]["Payload"]["Allocation"]["JobID"] == "job10"  # a FilterKey matches
    with loopback.Client(base_url=sim.nomad_addr, timeout=httpx.Timeout(5, read=1)) as client:
        with client.stream("GET", "/v1/event/stream",
                           params=[("index", str(start + 1)), ("topic", "Job"), ("namespace", "other")]) as answer:
            lines = answer.iter_lines()
            assert next(lines) == "{}"
            with pytest.raises(httpx.ReadTimeout):  # nothing for Job, nothing in that namespace
                next(lines)


def test_index_semantics_and_buffer(sim):
    sim.state.event_buffer_size = 3
    start = current_index(sim)
    allocs = [touch_dest(sim, job) for job in ("job1", "job10", "orders-sync", "crm-sync")]
    newest = sim.state.events[-1][0]
    # The requested index no longer buffered: from the oldest frame Nomad still holds.
    got = frames(sim, [("index", str(start + 1))] + TOPICS, 3)
    assert [f["Events"][0]["Key"] for f in got] == [a.id for a in allocs[1:]]
    # Inclusive: the frame at the index itself comes first.
    assert frames(sim, [("index", str(newest))], 1)[0]["Index"] == newest
    # Past the newest: the newest frame again (StartAtClosest returns the last item).
    assert frames(sim, [("index", str(newest + 50))], 1)[0]["Index"] == newest


@pytest.mark.parametrize("params,body", [
    ({"index": "x"}, 'Unable to parse index: strconv.Atoi: parsing "x": invalid syntax'),
    ({"topic": "Job:a:b"},
     "Invalid topic query: error parsing topics: Invalid key value pair for topic, topic: Job:a:b"),
])
def test_bad_parameters_are_400(sim, params, body):
    got = loopback.get(sim.nomad_addr + "/v1/event/stream", params=params)
    assert (got.status_code, got.text) == (400, body)


def test_a_node_change_is_a_node_event(sim):
    start = current_index(sim)
    state = sim.state
    with state.lock:
        node = state.nodes[1]
        node.status = "down"
        node.modify_index = state.bump("nodes")
    (frame,) = frames(sim, [("index", str(start + 1)), ("topic", "Node")], 1)
    event = frame["Events"][0]
    assert (event["Topic"], event["Key"], event["Namespace"]) == ("Node", node.id, "")
    assert event["Payload"]["Node"]["Status"] == "down" and "HTTPAddr" in event["Payload"]["Node"]
    parsed = parse_event_line(json.dumps(frame))
    assert parsed.events[0].payload["ID"] == node.id


def test_a_dropped_stream_ends_and_011_has_none():
    with SimCluster(dialect="0.11", frozen=True) as old:
        got = loopback.get(old.nomad_addr + "/v1/event/stream")
        assert (got.status_code, got.text) == (404, "")
    with SimCluster(dialect="1.1", frozen=True) as sim:
        with loopback.Client(base_url=sim.nomad_addr, timeout=httpx.Timeout(PATIENCE_S)) as client:
            with client.stream("GET", "/v1/event/stream") as answer:
                lines = answer.iter_lines()
                assert next(lines) == "{}"
                sim.drop_event_streams()
                assert list(lines) == []  # the chunked answer ends
