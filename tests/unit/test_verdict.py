"""One verdict per job and the stage it reached, against verbatim answers of a real dtle 3.21.11.0 in a real
Nomad 1.1.2 (tests/fixtures/real-dtle) and of real Nomad 0.11.1 / 1.1.2 agents (tests/fixtures/real-nomad)."""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime

import pytest

from dtle_tui.model.allocations import parse_allocations
from dtle_tui.model.jobs import parse_job_stubs
from dtle_tui.model.nodes import parse_nodes
from dtle_tui.model.stage import Stage, later_stage, stage_reached, stage_steps
from dtle_tui.model.verdict import (
    REASON_WIDTH,
    VerdictKind,
    fit,
    job_verdict,
    slim_task_state,
    task_facts,
)
from tests.helpers.paths import FIXTURES

DTLE = FIXTURES / "real-dtle" / "3.21.11.0"
NOMAD = FIXTURES / "real-nomad"
S = 1_000_000_000
IDS = {"maria": ("1394932c-4599-a6e9-e833-52bec299b74b", "d18af79b-bc75-4282-6d08-35ff06b77d8f"),
       "closed": ("7967484b-399b-9707-b62f-64dbbf2f1c34", "d8d66383-e4de-3ad7-1021-a7a35393cc1b"),
       "v2maria-migration": ("304ecf8d-72f7-ada7-7dde-a7868f85c99e", "b9521902-d79a-4078-1ec5-73591319eff6")}


def answered_at(name: str) -> int:
    """The recorded answer's Date header, in ns: the moment the console would have read it."""
    date = next(line for line in (DTLE / f"{name}.meta").read_text().splitlines() if line.startswith("Date: "))
    return int(parsedate_to_datetime(date[6:]).timestamp()) * S


def dtle_job(job_id: str):
    stub = next(s for s in parse_job_stubs(json.loads((DTLE / "10_v1_jobs.json").read_text())) if s.id == job_id)
    names = [f"10_v1_allocation_{alloc_id}.json" for alloc_id in IDS[job_id]]
    allocs = parse_allocations([json.loads((DTLE / name).read_text()) for name in names])
    return stub, allocs, max(answered_at(name) for name in names)


def nomad_job(ver: str, job_id: str):
    stub = next(s for s in parse_job_stubs(json.loads((NOMAD / ver / "jobs.json").read_text())) if s.id == job_id)
    allocs = parse_allocations(json.loads((NOMAD / ver / "job_allocations" / f"{job_id}.json").read_text()))
    return stub, allocs, max(a.modify_time_ns for a in allocs) + 60 * S


def test_a_job_crash_looping_in_the_restart_delay_is_failing_with_its_error_and_next_try():
    stub, allocs, now = dtle_job("maria")
    assert stub.status == "running"  # what Nomad says of it: the verdict must not
    verdict = job_verdict(stub, allocs, now)
    assert (verdict.kind, verdict.rank, verdict.task) == (VerdictKind.FAILING, 0, "src")
    assert verdict.reason.startswith("src: Error 1193") and verdict.reason.endswith("restarting in 8m")
    assert len(verdict.reason) <= REASON_WIDTH
    assert verdict.last_error == "Error 1193: Unknown system variable 'GTID_MODE'"
    src = next(a for a in allocs if a.task_group == "src").task("src")
    last = src.events[-1]
    assert verdict.next_try_ns == last.time_ns + last.start_delay_ns
    assert verdict.restarts == 8  # 4 per task
    assert "restarting in 8m (4 restarts)" in verdict.detail and "waits out its interval" in verdict.detail
    assert verdict.stage.stage is Stage.UNKNOWN  # the dest's job_stage_full events were never reached
    assert verdict.needs_attention


def test_a_job_whose_src_runs_but_whose_dest_cannot_connect():
    stub, allocs, now = dtle_job("closed")
    verdict = job_verdict(stub, allocs, now)
    assert (verdict.kind, verdict.task) == (VerdictKind.FAILING, "dest")  # the waiting crash loop, not the src
    assert "dial tcp 127.0.0.1:3399" in verdict.detail and "restarting in" in verdict.reason


def test_a_v2_job_between_failure_and_reschedule_then_dead():
    stub, allocs, now = dtle_job("v2maria-migration")
    verdict = job_verdict(stub, allocs, now)
    assert (verdict.kind, verdict.task) == (VerdictKind.FAILING, "src")
    assert verdict.reason.endswith("rescheduling") and "Exceeded allowed attempts 2 in interval 30m0s" in verdict.detail
    final = next(s for s in parse_job_stubs(json.loads((DTLE / "31_v1_jobs_after_delete.json").read_text()))
                 if s.id == "v2maria-migration")
    dead = job_verdict(final, [], now + 600 * S)  # its allocations garbage-collected: the summary tells
    assert (dead.kind, dead.rank) == (VerdictKind.FAILED, 1) and dead.reason == "dest, src failed"


@pytest.mark.parametrize("ver", ["0.11.1", "1.1.2"])
def test_real_nomad_jobs(ver):
    stub, allocs, now = nomad_job(ver, "real-fail")  # dest failed, rescheduled once, failed again
    failed = job_verdict(stub, allocs, now)
    assert (failed.kind, failed.task, failed.rank) == (VerdictKind.FAILED, "dest", 1)
    assert "no reschedule is left" in failed.detail
    stub, allocs, now = nomad_job(ver, "real-ok")
    ok = job_verdict(stub, allocs, now)
    assert (ok.kind, ok.reason, ok.rank) == (VerdictKind.RUNNING, "", 6)
    stalled = job_verdict(stub, allocs, now, stalled_since_ns=now - 2 * 3600 * S)
    assert (stalled.kind, stalled.reason, stalled.rank) == (VerdictKind.STALLED, "Gtid unchanged 2h00m", 2)
    nodes = {n.id: n for n in parse_nodes(json.loads((NOMAD / ver / "nodes.json").read_text()))}
    down = {k: n.__class__(**{**n.__dict__, "status": "down"}) for k, n in nodes.items()}
    lost = job_verdict(stub, allocs, now, nodes=down)
    assert lost.kind is VerdictKind.FAILING and lost.reason.startswith("node ") and lost.reason.endswith(" is down")
    stub, allocs, now = nomad_job(ver, "job1")
    assert job_verdict(stub, allocs, now).kind is VerdictKind.STOPPED


@pytest.mark.parametrize("ver", ["0.11.1", "1.1.2"])
def test_a_group_that_cannot_be_placed_is_queued(ver):
    case = NOMAD / ver / "troubleshooting" / "unplaced-mem"

    def body(name: str):
        return json.loads(json.loads((case / name).read_text())["body"])

    stub = next(s for s in parse_job_stubs(body("08_jobs.json")) if s.id == "unplaced-mem")
    allocs = parse_allocations(body("06_job_allocations.json"))
    verdict = job_verdict(stub, allocs, max(a.modify_time_ns for a in allocs), placement="memory exhausted on 1 node")
    assert (verdict.kind, verdict.rank, verdict.reason) == (VerdictKind.QUEUED, 3, "memory exhausted on 1 node")
    assert job_verdict(stub, allocs, 0).reason == "dest cannot be placed"


def test_a_dtle_driver_unhealthy_on_the_node_is_failing():
    stub, allocs, now = nomad_job("1.1.2", "real-ok")
    node = parse_nodes(json.loads((DTLE / "10_dtle_v1_nodes.json").read_text()))[0]
    sick = node.__class__(**{**node.__dict__, "id": allocs[0].node_id, "drivers": {
        "dtle": node.drivers["dtle"].__class__("dtle", True, False, "dtle: failed to connect to consul")}})
    verdict = job_verdict(stub, allocs, now, nodes={sick.id: sick})
    assert verdict.kind is VerdictKind.FAILING and verdict.reason.startswith("dtle driver unhealthy on nomad0")


def test_slim_task_states_give_the_same_verdict():
    for job_id in IDS:
        stub, allocs, now = dtle_job(job_id)
        slim = [a.__class__(**{**a.__dict__, "task_states_raw": {k: slim_task_state(v) for k, v in
                                                                    a.task_states_raw.items()}})
                for a in allocs]
        assert job_verdict(stub, slim, now) == job_verdict(stub, allocs, now), job_id
        assert stage_steps(slim) == stage_steps(allocs)


def test_attention_order():
    ranks = {}
    stub, allocs, now = dtle_job("maria")
    ranks["failing"] = job_verdict(stub, allocs, now).rank
    final = next(s for s in parse_job_stubs(json.loads((DTLE / "31_v1_jobs_after_delete.json").read_text()))
                 if s.id == "v2maria-migration")
    ranks["failed"] = job_verdict(final, [], now).rank
    stub, allocs, now = nomad_job("1.1.2", "real-ok")
    ranks["stalled"] = job_verdict(stub, allocs, now, stalled_since_ns=now - 60 * S).rank
    ranks["incremental"] = job_verdict(stub, allocs, now).rank
    stub, allocs, now = nomad_job("1.1.2", "job1")
    ranks["stopped"] = job_verdict(stub, allocs, now).rank
    assert sorted(ranks, key=ranks.get) == ["failing", "failed", "stalled", "incremental", "stopped"]


# ---- the stage reached ---------------------------------------------------------------------------------

def ev(kind: str, t: float, **fields) -> dict:
    return {"Type": kind, "Time": int(t * S), **fields}


def stage_of(*events: dict, create_index: int = 10, alloc_id: str = "a"):
    return parse_allocations([{"ID": alloc_id, "TaskGroup": "dest", "DesiredStatus": "run", "ClientStatus": "running",
                               "CreateIndex": create_index, "TaskStates": {"dest": {"State": "running",
                                                                                    "Events": list(events)}}}])


def full(t: float) -> dict:
    return ev("Driver", t, DriverMessage="job_stage_full", Details=None)


def fails(t: float, error: str = "Error 1193") -> dict:
    return ev("Terminated", t, ExitCode=2, Message=error, Details={"exit_code": "2", "exit_message": error})


def test_the_recorded_crash_loop_never_reached_full_and_its_restarts_collapse():
    for job_id in ("maria", "v2maria-migration"):
        _stub, allocs, _now = dtle_job(job_id)
        assert stage_reached(allocs).stage is Stage.UNKNOWN
        (step,) = stage_steps(allocs)
        assert (step.stage, step.count, step.reached) == (Stage.FULL, 2, False)  # the 10 events kept hold 2


def test_a_stage_counts_once_the_dest_got_past_30_seconds():
    copying = stage_of(ev("Started", 0), full(0.01))
    assert stage_reached(copying).stage is Stage.FULL  # running, no failure: reached for now
    assert stage_reached(stage_of(ev("Started", 0), full(0.01), fails(29))).stage is Stage.UNKNOWN
    assert stage_reached(stage_of(ev("Started", 0), full(0.01), fails(31))).stage is Stage.FULL
    killed = stage_of(ev("Started", 0), full(0.01), ev("Killing", 5), ev("Terminated", 5.1, ExitCode=137, Signal=9))
    assert stage_reached(killed).stage is Stage.FULL  # Nomad's own kill is no failure


def test_a_restart_after_the_incremental_keeps_what_was_reached():
    allocs = stage_of(ev("Started", 0), full(0.01), ev("Driver", 300, DriverMessage="job_stage_incr"),
                      fails(900), ev("Restarting", 900.01), ev("Started", 915), full(915.01), fails(915.02))
    info = stage_reached(allocs)
    assert (info.stage, info.since_ns) == (Stage.INCREMENTAL, 300 * S)
    steps = stage_steps(allocs)
    assert [(s.stage, s.count, s.reached) for s in steps] == \
        [(Stage.FULL, 1, True), (Stage.INCREMENTAL, 1, True), (Stage.FULL, 1, False)]


def test_replaced_allocations_count_too():
    old = stage_of(ev("Started", 0), full(0.01), ev("Driver", 60, DriverMessage="job_stage_incr"), fails(600),
                   alloc_id="old", create_index=10)
    new = stage_of(ev("Started", 640), full(640.01), fails(640.02), alloc_id="new", create_index=20)
    assert stage_reached(old + new).stage is Stage.INCREMENTAL


def test_task_facts_and_fit():
    _stub, allocs, _now = dtle_job("maria")
    dest = next(a for a in allocs if a.task_group == "dest")
    facts = task_facts("dest", dest.task_states_raw["dest"])
    assert (facts.state, facts.restarts, facts.delayed) == ("pending", 4, True)
    assert facts.last_error == "Error 1193: Unknown system variable 'SERVER_UUID'"
    assert fit("src: Error 1193: Unknown system variable 'GTID_MODE'", 20) == "src: Error 1193…"
    assert len(fit("x" * 100, 40)) == 40


def test_a_stage_seen_reached_is_kept_when_its_events_roll_out():
    seen = stage_reached(stage_of(ev("Started", 0), full(0.01), ev("Driver", 60, DriverMessage="job_stage_incr")))
    rolled = stage_reached(stage_of(ev("Started", 640), full(640.01), fails(640.02)))  # the 10 kept events
    assert rolled.stage is Stage.UNKNOWN and later_stage(seen, rolled) == seen
    again = stage_reached(stage_of(ev("Started", 900), full(900.01)))  # a reset Gtid: a new full copy
    assert later_stage(seen, again) == again
    stub, allocs, now = dtle_job("maria")
    assert job_verdict(stub, allocs, now, stage=seen).stage == seen
