"""models.py against the verbatim doc samples in tests/fixtures/reference (caveats: fixtures/README.md)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from dtle_tui.model.allocations import Allocation, parse_allocation, parse_allocations
from dtle_tui.model.jobs import Job, JobStub, parse_job, parse_job_stubs
from dtle_tui.model.nodes import parse_nodes
from dtle_tui.model.stage import Stage
from dtle_tui.model.wire import ParseError, parse_time
from tests.helpers.paths import FIXTURES

REF = FIXTURES / "reference"


def load(name: str):
    return json.loads((REF / name).read_text())


def test_jobs_list_1_1_shape():
    jobs = parse_job_stubs(load("nomad_jobs_list.json"))
    assert [j.id for j in jobs] == ["countdash", "example"]
    countdash, example = jobs
    assert countdash.status == "pending" and countdash.display_status == "pending"
    assert countdash.datacenters == ("dc1", "dc2")
    assert countdash.summary["api"].queued == 1 and countdash.summary["dashboard"].queued == 1
    assert example.summary["cache"].running == 1
    assert example.namespace == "default" and example.type == "service"
    assert example.create_index == 42 and example.modify_index == 49 and example.job_modify_index == 42
    assert example.submit_time_ns == 1645230403921889000
    assert example.submit_time == datetime(2022, 2, 19, 0, 26, 43, 921889, tzinfo=timezone.utc)
    assert example.summary_modify_index == 46


def test_jobs_list_minimal_lacks_fields():
    (job,) = parse_job_stubs(load("nomad_jobs_list_docs_minimal.json"))
    # Lacks Namespace (taken from JobSummary), Datacenters, Stop, SubmitTime: defaults, no error.
    assert job.id == "example" and job.namespace == "default"
    assert job.datacenters == () and job.stop is False and job.submit_time_ns == 0
    assert job.submit_time is None
    assert job.summary["cache"].complete == 1 and job.summary["cache"].queued == 1


def test_job_newer_era_sample():
    job = parse_job(load("nomad_job.json"))
    assert isinstance(job, Job)
    assert (job.id, job.namespace, job.region) == ("example", "apps", "global")
    assert (job.type, job.status) == ("batch", "running")
    assert job.stop is False and job.version == 0 and job.submit_time_ns == 0  # absent in the sample
    (group,) = job.task_groups
    assert group.name == "cache" and group.count == 1
    assert [t.name for t in group.tasks] == ["init", "redis"]
    assert group.tasks[1].driver == "docker" and group.tasks[1].config["image"] == "redis:latest"
    assert job.endpoints.src is None and job.endpoints.dest is None
    assert job.raw["NodePool"] == "prod"


def test_dtle3_job_file_endpoints():
    job = parse_job(load("dtle_job_example.json"))  # {"Job": {...}} register body
    assert job.id == "job1" and [g.name for g in job.task_groups] == ["src", "dest"]
    src, dest = job.endpoints.src, job.endpoints.dest
    assert src.kind == "mysql" and (src.host, src.port, src.user) == ("127.0.0.1", 3307, "root")
    assert src.databases == ("db1",)
    assert src.describe() == "127.0.0.1:3307 [db1]"
    assert dest.kind == "mysql" and dest.port == 3307
    assert "password" not in repr(job.endpoints)


def test_dtle4_job_file_endpoints():
    job = parse_job(load("dtle4_job_example.json"))
    src, dest = job.endpoints.src, job.endpoints.dest
    assert src.kind == "mysql" and src.host == "127.0.0.1" and src.port == 3307
    assert dest is not None and dest.kind == "mysql" and dest.user == "root"


def test_kafka_dest_and_task_roles_case_insensitive():
    spec = {"ID": "k", "TaskGroups": [
        {"Name": "src", "Tasks": [{"Name": "Source", "Config": {
            "ConnectionConfig": {"Host": "mysql-src", "Port": 3306},
            "ReplicateDoDb": [{"TableSchema": "db1"}, {"TableSchema": "db2"}]}}]},
        {"Name": "dest", "Tasks": [{"Name": "DST", "Config": {
            "KafkaConfig": {"Brokers": ["k1:9092", "k2:9092"], "Topic": "t1"}}}]},
    ]}
    ends = parse_job(spec).endpoints
    assert ends.src.describe() == "mysql-src:3306 [db1,db2]"
    assert ends.dest.kind == "kafka" and ends.dest.brokers == ("k1:9092", "k2:9092")
    assert ends.dest.describe() == "kafka k1:9092,k2:9092 topic=t1"


def test_allocations_list_closest_to_wire():
    (alloc,) = parse_allocations(load("nomad_allocations_list.json"))
    assert isinstance(alloc, Allocation)
    assert alloc.id == "5457f16d-0f87-8e6b-5e91-0c7da3a41eb7" and alloc.short_id == "5457f16d"
    assert (alloc.job_id, alloc.task_group, alloc.node_name) == ("example", "cache", "linux")
    assert alloc.client_status == "running" and not alloc.is_terminal and alloc.restarts == 0
    assert alloc.error_text is None
    (task,) = alloc.task_states
    assert task.name == "redis" and task.state == "running" and task.finished_at is None
    assert task.started_at == datetime(2021, 11, 4, 9, 14, 12, 49960, tzinfo=timezone.utc)
    assert [e.type for e in task.events] == ["Received", "Task Setup", "Started"]
    assert task.events[1].details == {"message": "Building Task Directory"}
    assert task.events[0].text == "Task received by client"
    assert task.events[0].time == datetime(2021, 11, 4, 9, 14, 9, 803624, tzinfo=timezone.utc)
    assert task.last_error is None
    assert alloc.task("redis") is task and alloc.task("nope") is None


def test_job_allocations_old_sample():
    (alloc,) = parse_allocations(load("nomad_job_allocations.json"))
    # Not stub fields, but present in this sample: kept.
    assert alloc.previous_allocation == "516d2753-0513-cfc7-57ac-2d6fac18b9dc"
    assert alloc.next_allocation == "cd13d9b9-4f97-7184-c88b-7b451981616b"
    (ev,) = alloc.reschedule_events
    assert ev.delay_ns == 5_000_000_000 and ev.prev_node_id.startswith("9230cd3b")
    task = alloc.task("redis")
    assert task.finished_at is None  # "0001-01-01T00:00:00Z" is the zero time
    assert task.restarts == 0 and task.last_restart is None  # fields missing in the sample
    # No DisplayMessage in this sample: computed per nomad-api.md §4.3.
    texts = [e.display_message for e in task.events]
    assert texts == ["Task received by client", "Building Task Directory", "Downloading image redis:7",
                     "Task started by client"]


def test_full_allocation_doc_sample_quirks():
    alloc = parse_allocation(load("nomad_allocation.json"))
    assert alloc.previous_allocation == ""  # duplicate key: json keeps the last one
    (ev,) = alloc.reschedule_events
    assert ev.delay_ns == 5_000_000_000  # "5000000000" as a string in the sample
    assert ev.time_ns == 1517434161192946200
    assert alloc.namespace == "" and alloc.node_name == ""  # absent
    task = alloc.task("redis")
    assert task.last_restart is None and task.finished_at is None
    assert task.started_at == datetime(2017, 7, 25, 23, 36, 26, 106431, tzinfo=timezone.utc)
    assert task.events[1].text == "Downloading image redis:7"
    assert alloc.create_index == 54 and alloc.modify_index == 57


def test_nodes_newer_shape_without_dtle():
    raw = load("nomad_nodes.json")  # verbatim from a real agent: its own (private) address, parsed, never used
    (node,) = parse_nodes(raw)
    assert node.id == "f7476465-4d6e-c0de-26d0-e383c49be941" and node.short_id == "f7476465"
    assert (node.name, node.address, node.version, node.status) == ("nomad-4", raw[0]["Address"], "0.8.0-rc1", "ready")
    assert node.dtle is None and node.dtle_version == "" and node.dtle_full_version == ""
    assert node.drivers["qemu"].detected is False and node.drivers["qemu"].attributes == {}
    assert node.drivers["docker"].attributes["driver.docker.version"] == "18.03.0-ce"
    assert node.drivers["docker"].update_time == datetime(2018, 4, 11, 23, 34, 48, 713720, tzinfo=timezone.utc)


def test_node_with_dtle_driver():
    node = parse_nodes({"ID": "n1", "Drivers": {"dtle": {
        "Attributes": {"driver.dtle": "true", "driver.dtle.version": "3.21.08.0",
                       "driver.dtle.full_version": "3.21.08.0-3.21.08.x-e56bde2"},
        "Detected": True, "Healthy": True, "HealthDescription": "Healthy", "UpdateTime": None}}})[0]
    assert node.dtle.healthy and node.dtle_version == "3.21.08.0"
    assert node.dtle_full_version == "3.21.08.0-3.21.08.x-e56bde2"


BAD_LISTS = [{"ID": "x"}, "<html>502 Bad Gateway</html>", None, 7, b"[]"]


# parse_nodes also takes a dict: that is /v1/node/<id>, so a dict is no wrong shape for it.
@pytest.mark.parametrize("parser,bad", [(p, b) for p in (parse_job_stubs, parse_allocations, parse_nodes)
                                        for b in BAD_LISTS if not (p is parse_nodes and isinstance(b, dict))])
def test_list_parsers_reject_wrong_top_level(parser, bad):
    with pytest.raises(ParseError):
        parser(bad)


@pytest.mark.parametrize("parser", [parse_job, parse_allocation])
@pytest.mark.parametrize("bad", [[], "<html>", None, 3.5])
def test_object_parsers_reject_wrong_top_level(parser, bad):
    with pytest.raises(ParseError, match="expected"):
        parser(bad)


def test_parse_error_is_value_error():
    assert issubclass(ParseError, ValueError)


def test_junk_list_entries_skipped_and_odd_fields_tolerated():
    jobs = parse_job_stubs([None, 3, {"ID": 5, "Stop": "true", "Status": None, "SubmitTime": "12",
                                      "JobSummary": {"Summary": {"g": {"Running": "2", "Lost": None}}}}])
    (job,) = jobs
    assert isinstance(job, JobStub)
    assert job.id == "5" and job.stop is True and job.display_status == "stopped" and job.status == ""
    assert job.submit_time_ns == 12 and job.summary["g"].running == 2 and job.summary["g"].lost == 0


def test_reuse_returns_unchanged_objects():
    data = load("nomad_allocations_list.json")
    first = parse_allocations(data)
    again = parse_allocations(data, reuse={a.id: a for a in first})
    assert again[0] is first[0]
    changed = [dict(data[0], ModifyIndex=99)]
    assert parse_allocations(changed, reuse={a.id: a for a in first})[0] is not first[0]
    stubs = parse_job_stubs(load("nomad_jobs_list.json"))
    assert parse_job_stubs(load("nomad_jobs_list.json"), reuse={s.id: s for s in stubs})[1] is stubs[1]


@pytest.mark.parametrize("text, expected", [
    ("2026-11-27T23:12:55.329194596Z", datetime(2026, 11, 27, 23, 12, 55, 329194, tzinfo=timezone.utc)),
    ("2021-11-04T10:14:22.054814+01:00", datetime(2021, 11, 4, 9, 14, 22, 54814, tzinfo=timezone.utc)),
    ("2017-07-25T23:36:26Z", datetime(2017, 7, 25, 23, 36, 26, tzinfo=timezone.utc)),
    ("0001-01-01T00:00:00Z", None), (None, None), ("", None), ("yesterday", None), (12, None),
])
def test_parse_time(text, expected):
    assert parse_time(text) == expected


def test_stage_labels():
    assert (Stage.FULL.label, Stage.INCREMENTAL.label, Stage.UNKNOWN.label) == ("full", "incr", "—")


def test_event_stream_node_payload():
    frame = load("nomad_event_stream_frame.json")
    (event,) = frame["Events"]
    (node,) = parse_nodes(event["Payload"]["Node"])  # a full node, like /v1/node/:id
    assert node.id == "ccc4ce56-7f0a-4124-b8b1-a4015aa82c40" and node.status == "initializing"
    assert node.address == "127.0.0.1" and node.version == "0.13.0-dev"
    assert set(node.drivers) == {"docker", "exec", "java", "qemu", "raw_exec"} and node.dtle is None


@pytest.mark.parametrize("name", ["nomad_job_register_request.json", "nomad_job_register_request_cli_output.json"])
def test_register_bodies_parse_as_jobs(name):
    job = parse_job(load(name))
    assert job.id in ("cache", "example") and job.name == job.id
    (group,) = job.task_groups
    assert group.tasks[0].name == "redis" and group.tasks[0].driver == "docker"
    assert job.namespace == "default"  # absent or null: Nomad's default


def test_v2_monitor_gtid_set_parses():
    from dtle_tui.model.gtid import GtidSet

    coords = load("dtle_v2_monitor_task_response_docs.json")["tasks_status"]["current_coordinates"]
    gs = GtidSet.parse(coords["gtid_set"])
    assert gs.transactions == 24 and gs.uuids == ("00003307-1111-1111-1111-111111111111",)
    assert GtidSet.parse(coords["retrieved_gtid_set"]).is_empty


def test_dtle4_kafka_dest_and_renamed_schemas():
    spec = {"Job": {"ID": "k4", "TaskGroups": [
        {"Name": "src", "Tasks": [{"Name": "src", "Config": {
            "SrcConnectionConfig": {"Host": "::1", "Port": 3306, "User": "u", "Password": "p"},
            "KafkaConfig": {"Brokers": ["b:9092"], "Topic": "t"},
            "ReplicateDoDb": [{"TableSchema": "a", "TableSchemaRename": "a2"}, {"TableSchemaRegex": "log_.*"}]}}]},
        {"Name": "dest", "Tasks": [{"Name": "dest", "Config": {"DestType": "Kafka"}}]},
    ]}}
    ends = parse_job(spec).endpoints
    assert ends.src.describe() == "[::1]:3306 [a,log_.*]"
    assert ends.dest.describe() == "kafka b:9092 topic=t"
    renamed = parse_job({"ID": "r", "TaskGroups": [
        {"Name": "src", "Tasks": [{"Name": "src", "Config": {
            "ConnectionConfig": {"Host": "s"}, "ReplicateDoDb": [{"TableSchema": "a", "TableSchemaRename": "a2"}]}}]},
        {"Name": "dest", "Tasks": [{"Name": "dest", "Config": {"ConnectionConfig": {"Host": "d", "Port": "3307"}}}]},
    ]}).endpoints
    assert renamed.src.describe() == "s [a]" and renamed.dest.describe() == "d:3307 [a2]"
    # No tasks named like src/dest: nothing to show, nothing guessed.
    assert parse_job({"ID": "x", "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "worker"}]}]}).endpoints.src is None
