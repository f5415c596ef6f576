"""Evaluations, placement failures in words, task stats, drain fields: parsed from the verbatim answers of
real Nomad 0.11.1 and 1.1.2 (tests/fixtures/real-nomad/<ver>/troubleshooting, copies of the reference)."""

from __future__ import annotations

import json

import pytest

from dtle_tui.live.snapshot import AllocCounts
from dtle_tui.model.allocations import failed_task, parse_allocation
from dtle_tui.model.evaluations import parse_evaluation, parse_evaluations, placement_report
from dtle_tui.model.jobs import parse_job
from dtle_tui.model.nodes import parse_nodes
from dtle_tui.model.stats import TaskResources, memory_limits, parse_alloc_stats, size_text
from dtle_tui.ops.repair import parse_deadline
from tests.helpers.paths import FIXTURES

DIALECTS = ["0.11.1", "1.1.2"]


def body(dialect: str, name: str):
    envelope = json.loads((FIXTURES / "real-nomad" / dialect / "troubleshooting" / f"{name}.json").read_text())
    return json.loads(envelope["body"])


def spec(dialect: str, case: str):
    return parse_job(json.loads((FIXTURES / "real-nomad" / dialect / "troubleshooting" / case / "_spec_sent.json")
                                .read_text()))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_missing_driver_is_said_in_words_with_the_driver_named_from_the_spec(dialect):
    evals = parse_evaluations(body(dialect, "unplaced-driver/04_job_evaluations"))
    assert [e.status for e in evals] == ["blocked", "complete"]
    blocked = evals[0]
    # 0.11.1's blocked evaluation has no FailedTGAllocs at all; 1.1.2's carries a copy.
    assert (blocked.failed == ()) is (dialect == "0.11.1")
    report = placement_report(evals, spec(dialect, "unplaced-driver"))
    assert [p.group for p in report] == ["dest"]
    dest = report[0]
    assert dest.queued == 1
    assert dest.blocked_eval == blocked.id
    text = "\n".join(dest.lines)
    assert "missing drivers: no node offers a healthy 'dtle' driver (task dest)" in text
    assert "1 node evaluated, 1 filtered" in text and "dc1: 1" in text
    assert dest.raw["ConstraintFiltered"] == {"missing drivers": 1}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_memory_exhaustion_names_the_dimension_and_what_the_task_asked(dialect):
    evals = parse_evaluations(body(dialect, "unplaced-mem/04_job_evaluations"))
    report = placement_report(evals, spec(dialect, "unplaced-mem"), {"dest": 1, "src": 0})
    text = "\n".join(report[0].lines)
    assert "1 node out of memory (DimensionExhausted)" in text
    # ResourcesExhausted exists only in 1.1.2 (keyed by task name)
    assert ("task dest asks MemoryMB 10000000" in text) is (dialect == "1.1.2")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_group_no_longer_queued_is_not_reported(dialect):
    evals = parse_evaluations(body(dialect, "unplaced-driver/20_later_job_evaluations"))
    assert placement_report(evals, None, {"dest": 0, "src": 0}) == ()
    assert [p.group for p in placement_report(evals, None, {"dest": 1})] == ["dest"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_omitempty_evaluation_fields_are_missing_not_zero(dialect):
    ev = parse_evaluation(body(dialect, "unplaced-driver/21_later_evaluation_2_deployment-watcher_complete"))
    assert ev.triggered_by == "deployment-watcher" and ev.has_queued and dict(ev.queued) == {"dest": 1}
    blocked = parse_evaluation(body(dialect, "unplaced-driver/05_evaluation_1_blocked"))
    assert not blocked.has_queued and blocked.previous_eval and not blocked.blocked_eval


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_drained_single_node_says_no_node_could_be_evaluated(dialect):
    evals = parse_evaluations(body(dialect, "node-actions/drain_12_real-ok_evaluations_t6"))
    report = placement_report(evals, None)
    assert report, "the drain left groups unplaced"
    assert any("No node could be evaluated (nodes available per datacenter: dc1: 0)" in line
               for p in report for line in p.lines)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_alloc_stats_parse_rss_and_cpu(dialect):
    stats = parse_alloc_stats(body(dialect, "stats/alloc_stats_real-ok_dest"))
    assert list(stats) == ["dest"]
    assert stats["dest"].rss_bytes == body(dialect, "stats/alloc_stats_real-ok_dest")["Tasks"]["dest"][
        "ResourceUsage"]["MemoryStats"]["RSS"]
    assert stats["dest"].cpu_percent == 0.0
    assert parse_alloc_stats(body(dialect, "stats/alloc_stats_real-ok_dest_task_nope")) == {}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_memory_limit_comes_from_the_full_allocation(dialect):
    alloc = parse_allocation(body(dialect, "alloc-actions/restart_00_alloc_before"))
    assert dict(alloc.memory_mb) == {"dest": 32}
    job = body(dialect, "unplaced-mem/02_job")
    assert memory_limits(job, "dest") == {"dest": 10000000}


def test_memory_text_and_warning_threshold():
    gib = 1024 ** 3
    res = TaskResources("dest", int(1.5 * gib), 2048, 12.5)
    assert res.memory_text() == "1.5 GiB / 2.0 GiB 75%" and not res.warn
    near = TaskResources("dest", int(1.75 * gib), 2048, None)
    assert near.warn and near.memory_text().endswith("88%") and near.cpu_text() == "?"
    assert TaskResources("dest", None, 300, 1.0).memory_text() == "? / 300 MiB"
    assert size_text(34353152) == "33 MiB"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_drain_progress_fields(dialect):
    draining = parse_nodes(body(dialect, "node-actions/drain_02_node_t0"))[0]
    assert draining.drain and draining.drain_deadline is not None and draining.drain_started is not None
    assert draining.scheduling_eligibility == "ineligible"
    done = parse_nodes(body(dialect, "node-actions/drain_05_node_t2"))[0]
    assert not done.drain and done.drain_deadline is None
    assert done.scheduling_eligibility == "ineligible"  # a drained node stays ineligible
    assert done.last_drain_status == ("complete" if dialect == "1.1.2" else "")
    stub = parse_nodes(body(dialect, "node-actions/drain_03_nodes_t0"))[0]
    assert stub.drain and stub.drain_deadline is None  # the list stub has no DrainStrategy
    assert (stub.drain_started is not None) is (dialect == "1.1.2")  # LastDrain.StartedAt


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_restart_or_stop_kill_is_not_a_failed_task(dialect):
    restarted = parse_allocation(body(dialect, "alloc-actions/restart_02_alloc_after_taskname"))
    assert any(ev.type == "Terminated" and ev.exit_code == 137 for t in restarted.task_states for ev in t.events)
    assert failed_task(restarted) is None
    assert failed_task(parse_allocation(body(dialect, "alloc-actions/stop_03_alloc_after"))) is None


def test_queued_cell_text():
    assert AllocCounts(queued=1).describe() == "1 queued"
    assert AllocCounts(running=1, queued=1).describe() == "1r 1q"
    assert AllocCounts(complete=1, queued=2).describe() == "2 queued"


@pytest.mark.parametrize("text,seconds", [("1h", 3600), ("30m", 1800), ("1h30m", 5400), ("90s", 90), ("120", 120),
                                          ("", None), ("1x", None), ("0", None), ("h1", None)])
def test_drain_deadline_parsing(text, seconds):
    expected = None if seconds is None else seconds * 1_000_000_000
    assert parse_deadline(text) == expected


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_user_restart_or_stop_is_not_reported_as_an_error(dialect):
    from dtle_tui.live.snapshot import last_error_event

    for name in ("alloc-actions/restart_04_alloc_after_empty", "alloc-actions/stop_03_alloc_after"):
        alloc = parse_allocation(body(dialect, name))
        terminated = [ev for t in alloc.task_states for ev in t.events if ev.type == "Terminated"]
        assert terminated, name
        if dialect == "1.1.2" or "restart" in name:
            assert any(ev.exit_code == 137 for ev in terminated), name
        assert alloc.error_text is None, name
        assert last_error_event([alloc]) is None, name


@pytest.mark.parametrize("dialect", DIALECTS)
def test_not_placed_names_the_current_blocked_evaluation_never_a_canceled_one(dialect):
    # The recorded later answer: a canceled evaluation "existing blocked evaluation exists" is the newest,
    # a blocked one is current (issue 22 item 7).
    evals = parse_evaluations(body(dialect, "unplaced-driver/20_later_job_evaluations"))
    canceled = next(e for e in evals if e.status == "canceled")
    blocked = next(e for e in evals if e.status == "blocked")
    assert "existing blocked evaluation exists" in canceled.status_description
    assert max(evals, key=lambda e: e.modify_index) is canceled
    report = placement_report(evals, spec(dialect, "unplaced-driver"), {"dest": 1})
    dest = report[0]
    assert dest.blocked_eval == blocked.id
    assert canceled.id not in (dest.eval_id, dest.blocked_eval)
    # 1.1.2's blocked evaluation carries the metric: it is the one named; 0.11's has none: the one that
    # created it is read.
    assert dest.eval_id == (blocked.id if dialect == "1.1.2" else blocked.previous_eval)
    assert "missing drivers: no node offers a healthy 'dtle' driver (task dest)" in "\n".join(dest.lines)
