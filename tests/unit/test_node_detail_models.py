"""Node detail's parsers and the repair checks, against verbatim real answers (tests/fixtures): a node's
events (real Nomad 1.1.2 during a drain), a real dtle allocation whole (its Job says the driver), and which
repairs Nomad can do on which allocation (issue 22 item 6, issue 26 item 6)."""

from __future__ import annotations

import json

from dtle_tui.model.allocations import Allocation, parse_allocation
from dtle_tui.model.nodes import parse_node_events, parse_nodes, runs_dtle
from dtle_tui.ops.repair import drain_moves, repair_refusal
from tests.helpers.paths import FIXTURES

REAL_DTLE = FIXTURES / "real-dtle" / "3.21.11.0"
DRAIN = FIXTURES / "real-nomad" / "1.1.2" / "troubleshooting" / "node-actions"


def recorded_body(path):
    body = json.loads(path.read_text(encoding="utf-8"))["body"]
    return json.loads(body) if isinstance(body, str) else body


def test_a_drained_nodes_events_newest_first():
    events = parse_node_events(recorded_body(DRAIN / "drain_21_node_after_disable.json"))
    assert [(e.subsystem, e.message) for e in events][:2] == [("Drain", "Node drain complete")] * 2
    assert events[-1].message == "Node registered" and events[-1].subsystem == "Cluster"
    assert all(a.time >= b.time for a, b in zip(events, events[1:]))


def test_the_real_dtle_node_has_its_driver_health_and_an_event():
    data = json.loads((REAL_DTLE / "00_v1_node_566fd73d-2d6e-4d56-88ac-9f608335f3ff.json").read_text(encoding="utf-8"))
    node = parse_nodes(data)[0]
    assert node.dtle is not None and node.dtle.healthy and node.dtle.health_description == "Healthy"
    assert [e.message for e in parse_node_events(data)] == ["Node registered"]


def test_a_real_dtle_allocation_runs_dtle_and_moves_with_a_drain():
    data = json.loads((REAL_DTLE / "10_v1_allocation_1394932c-4599-a6e9-e833-52bec299b74b.json")
                      .read_text(encoding="utf-8"))
    assert runs_dtle(data)
    other = json.loads(json.dumps(data))
    for group in other["Job"]["TaskGroups"]:
        for task in group["Tasks"]:
            task["Driver"] = "raw_exec"
    assert not runs_dtle(other) and not runs_dtle({"TaskGroup": "src"})
    alloc = parse_allocation(data)
    lines = drain_moves([(alloc, True), (parse_allocation(other), False)])
    assert lines[0] == "The drain moves 1 dtle task(s) of 1 job(s):"
    assert alloc.short_id in lines[1] and alloc.job_id in lines[1]
    assert lines[-1] == "and 1 other allocation(s) (not dtle)."


def test_an_allocation_that_ended_moves_nothing():
    ended = Allocation(id="a" * 36, job_id="job1", task_group="dest", client_status="complete", desired_status="stop")
    assert drain_moves([(ended, True)]) == ["No dtle task runs on this node: the drain moves none."]


def test_repairs_nomad_can_do_and_why_not():
    running = Allocation(id="b" * 36, client_status="running", desired_status="run", task_group="dest")
    assert repair_refusal("restart", running) is None and repair_refusal("stop-alloc", running) is None
    failed = Allocation(id="c" * 36, client_status="failed", desired_status="run")
    assert "failed" in repair_refusal("restart", failed) and "running task" in repair_refusal("restart", failed)
    assert "already ended (failed)" in repair_refusal("stop-alloc", failed)
    stopped = Allocation(id="d" * 36, client_status="complete", desired_status="stop")
    assert "(stop complete)" in repair_refusal("stop-alloc", stopped)
    pending = Allocation(id="e" * 36, client_status="pending", desired_status="run")
    assert repair_refusal("stop-alloc", pending) is None  # not ended: K may stop it
    assert "pending" in repair_refusal("restart", pending)  # but nothing runs to restart
    assert repair_refusal("restart", None) is None  # nothing selected: the flow says so
