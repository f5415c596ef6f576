"""models.py against answers recorded from real Nomad 0.11.1 and 1.1.2 agents (reference real-nomad/)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from dtle_tui.model.allocations import Allocation, parse_allocation, parse_allocations
from dtle_tui.model.jobs import Job, parse_job, parse_job_stubs
from dtle_tui.model.nodes import Node, parse_nodes
from dtle_tui.model.stage import Stage, detect_stage, stage_timeline
from tests.helpers.paths import FIXTURES

REAL = FIXTURES / "real-nomad"
DIALECTS = ["0.11.1", "1.1.2"]
JOB_IDS = ["job1", "job10", "mig-[b]ops", "real-fail", "real-ok", "real-stop"]


def load(dialect: str, *parts: str):
    return json.loads(REAL.joinpath(dialect, *parts).read_text())


@pytest.fixture(params=DIALECTS)
def dialect(request) -> str:
    return request.param


def test_jobs_list(dialect):
    jobs = {j.id: j for j in parse_job_stubs(load(dialect, "jobs.json"))}
    assert sorted(jobs) == JOB_IDS
    # 0.11 has no top-level Namespace: it comes from JobSummary (nomad-api.md §0).
    assert {j.namespace for j in jobs.values()} == {"default"}
    assert jobs["job1"].stop is True and jobs["job1"].status == "dead"
    assert jobs["job1"].display_status == "stopped" and jobs["real-stop"].display_status == "stopped"
    assert jobs["real-ok"].display_status == "running"
    assert set(jobs["real-ok"].summary) == {"src", "dest"}
    assert jobs["real-ok"].summary["dest"].running == 1
    assert jobs["job1"].summary["src"].complete == 1
    # dtle issue 915: the job stays "running" while its dest fails.
    assert jobs["real-fail"].status == "running" and jobs["real-fail"].summary["dest"].failed >= 1
    assert jobs["mig-[b]ops"].name == "mig-[b]ops"
    assert all(j.submit_time_ns > 1_700_000_000 * 10**9 for j in jobs.values())
    assert all(isinstance(j.submit_time, datetime) for j in jobs.values())


@pytest.mark.parametrize("job_id", JOB_IDS)
def test_job(dialect, job_id):
    job = parse_job(load(dialect, "job", f"{job_id}.json"))
    assert isinstance(job, Job)
    assert job.id == job_id and job.name == job_id and job.namespace == "default" and job.region == "global"
    assert [g.name for g in job.task_groups] == ["src", "dest"]
    assert [t.name for g in job.task_groups for t in g.tasks] == ["src", "dest"]
    assert all(t.driver == "raw_exec" for g in job.task_groups for t in g.tasks)
    assert job.group("dest").count == 1
    assert job.create_index > 0 and job.job_modify_index > 0
    # Stand-ins, not dtle configs: no endpoints, and nothing invented.
    assert job.endpoints.src is None and job.endpoints.dest is None
    stopped = job_id in ("job1", "real-stop")
    assert job.stop is stopped
    assert job.display_status == ("stopped" if stopped else "running")


@pytest.mark.parametrize("job_id", JOB_IDS)
def test_job_allocations(dialect, job_id):
    allocs = parse_allocations(load(dialect, "job_allocations", f"{job_id}.json"))
    assert allocs and all(isinstance(a, Allocation) and a.job_id == job_id for a in allocs)
    assert {a.task_group for a in allocs} == {"src", "dest"}
    for a in allocs:
        assert len(a.id) == 36 and a.short_id == a.id[:8]
        assert a.name.startswith(f"{job_id}.{a.task_group}[")
        assert [t.name for t in a.task_states] == [a.task_group]
        assert a.node_name == "vm"
        if job_id in ("job1", "real-stop"):
            assert a.desired_status == "stop" and a.client_status == "complete" and a.is_terminal
            assert a.error_text is None
        # No dtle driver on the recording agents: no job_stage_* events (real-nomad/README.md).
    assert detect_stage(allocs).stage is Stage.UNKNOWN
    assert stage_timeline(allocs) == []


def test_real_fail_explains_itself(dialect):
    allocs = parse_allocations(load(dialect, "job_allocations", "real-fail.json"))
    failed = sorted((a for a in allocs if a.client_status == "failed"), key=lambda a: a.create_index)
    assert len(failed) == 2
    first, second = failed
    assert first.desired_status == "stop" and second.desired_status == "run"
    assert first.next_allocation == "" or first.next_allocation == second.id
    assert first.followup_eval_id != ""
    (resched,) = second.reschedule_events
    assert resched.prev_alloc_id == first.id and resched.delay_ns == 5_000_000_000
    for alloc in failed:
        assert alloc.is_terminal and alloc.restarts == 1
        dest = alloc.task("dest")
        assert dest.failed and dest.state == "dead" and dest.restarts == 1
        assert dest.finished_at is not None and dest.last_restart is not None
        assert [e.type for e in dest.events][-2:] == ["Not Restarting", "Alloc Unhealthy"]
        term = [e for e in dest.events if e.type == "Terminated"][-1]
        assert term.exit_code == 2 and term.details["exit_code"] == "2" and term.text == "Exit Code: 2"
        error = alloc.error_text
        assert error is not None and "Exit Code: 2" in error and "Not Restarting" in error
        assert "Exceeded allowed attempts 1" in error and error.startswith("dest: ")
        restarting = next(e for e in dest.events if e.type == "Restarting")
        assert restarting.text.startswith("Task restarting in ") and restarting.start_delay_ns > 0
    src = next(a for a in allocs if a.task_group == "src")
    assert src.client_status == "running" and src.error_text is None and src.task("src").last_error is None


def test_all_allocations_list(dialect):
    allocs = parse_allocations(load(dialect, "allocations.json"))
    assert len(allocs) == 13
    assert {a.job_id for a in allocs} == set(JOB_IDS)
    assert sum(1 for a in allocs if a.error_text) == 2
    by_id = {a.id: a for a in allocs}
    for path in sorted(REAL.joinpath(dialect, "allocation").glob("*.json")):
        full = parse_allocation(json.loads(path.read_text()))
        assert full.id == path.stem and full.id in by_id
        stub = by_id[full.id]
        # The full allocation and its list stub describe the same thing.
        assert (full.job_id, full.task_group, full.client_status) == (stub.job_id, stub.task_group, stub.client_status)
        assert [t.name for t in full.task_states] == [t.name for t in stub.task_states]
        assert full.task_states[0].events == stub.task_states[0].events or full.modify_index != stub.modify_index


def test_mig_b_ops_id_preserved(dialect):
    allocs = parse_allocations(load(dialect, "job_allocations", "mig-[b]ops.json"))
    assert {a.job_id for a in allocs} == {"mig-[b]ops"}
    assert all(a.name.startswith("mig-[b]ops.") for a in allocs)


def test_nodes(dialect):
    (node,) = parse_nodes(load(dialect, "nodes.json"))
    assert isinstance(node, Node)
    assert node.name == "vm" and node.address == "127.0.0.1" and node.status == "ready"
    assert node.version == dialect and node.datacenter == "dc1"
    assert node.scheduling_eligibility == "eligible" and node.drain is False
    assert node.dtle is None and node.dtle_version == ""
    raw_exec = node.drivers["raw_exec"]
    assert raw_exec.detected and raw_exec.healthy and raw_exec.attributes == {"driver.raw_exec": "true"}
    assert raw_exec.update_time is not None
    (path,) = REAL.joinpath(dialect, "node").glob("*.json")
    (single,) = parse_nodes(json.loads(path.read_text()))
    assert single.id == node.id == path.stem and single.dtle is None
    # The full node has only HTTPAddr and the nomad.version attribute.
    assert (single.address, single.version, single.name, single.status) == ("127.0.0.1", dialect, "vm", "ready")
    assert set(single.drivers) == set(node.drivers)
