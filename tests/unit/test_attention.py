"""Triage in the core (issue 23): the attention order, the counts, the reason as of now and why a queued job
waits, against verbatim answers of real dtle 3.21.11.0 / Nomad (tests/fixtures) where there are some; the same
order and counts in the incident report's cluster summary and `--notify`'s summary alert."""

from __future__ import annotations

import json

import pytest

from dtle_tui.live.alerts import Alert, cluster_counts, summarize
from dtle_tui.live.rowbook import row_allocation
from dtle_tui.live.snapshot import AllocCounts, JobRow
from dtle_tui.model.allocations import parse_allocations
from dtle_tui.model.attention import (
    attention_counts,
    attention_order,
    counts_text,
    needing_attention,
    placement_reason,
    reason_now,
    summary_lines,
)
from dtle_tui.model.evaluations import parse_evaluations
from dtle_tui.model.stage import Stage
from dtle_tui.model.verdict import RANK_RUNNING_FULL, Verdict, VerdictKind, job_verdict
from dtle_tui.ops.incident import cluster_summary_lines
from tests.helpers.paths import FIXTURES
from tests.unit.test_verdict import DTLE, IDS, dtle_job

S = 1_000_000_000
RANK = {VerdictKind.FAILING: 0, VerdictKind.FAILED: 1, VerdictKind.STALLED: 2, VerdictKind.QUEUED: 3,
        VerdictKind.STARTING: 4, VerdictKind.RUNNING: 6, VerdictKind.STOPPED: 7, VerdictKind.DEAD: 8}


def verdict(kind: VerdictKind, reason: str = "", rank=None, **kw) -> Verdict:
    return Verdict(kind, reason, rank=RANK[kind] if rank is None else rank, **kw)


def row(job_id: str, v) -> JobRow:
    return JobRow(id=job_id, status="running", stage=Stage.INCREMENTAL, stage_since_ns=1, src=AllocCounts(running=1),
                  dest=AllocCounts(running=1), transactions=None, gtid_text=None, binlog=None, rate=None,
                  stalled=False, submit_time_ns=1, stop=False, verdict=v)


# A cluster as the Jobs screen receives it: in ID order (as Nomad lists), problems scattered.
CLUSTER = [
    row("a-dead", verdict(VerdictKind.DEAD)),
    row("b-incr", verdict(VerdictKind.RUNNING)),
    row("c-queued", verdict(VerdictKind.QUEUED, "no node has its driver")),
    row("d-full", verdict(VerdictKind.RUNNING, rank=RANK_RUNNING_FULL)),
    row("e-failing", verdict(VerdictKind.FAILING, "src: Error 1193")),
    row("f-stalled", verdict(VerdictKind.STALLED, "Gtid unchanged 2h")),
    row("g-queued", verdict(VerdictKind.QUEUED, "memory exhausted on 1 node")),
    row("h-stopped", verdict(VerdictKind.STOPPED)),
    row("i-failed", verdict(VerdictKind.FAILED, "src: failed")),
    row("j-starting", verdict(VerdictKind.STARTING, "dest starting")),
    row("k-none", None),
]


def ids(rows) -> list[str]:
    return [r.id for r in rows]


def test_attention_order_puts_the_problems_first_then_healthy_full_before_incremental_then_stopped_and_dead():
    ordered = attention_order(CLUSTER, lambda r: r.verdict, lambda r: r.id)
    assert ids(ordered) == ["e-failing", "i-failed", "f-stalled", "c-queued", "g-queued", "j-starting", "d-full",
                            "b-incr", "h-stopped", "a-dead", "k-none"]


def test_attention_order_is_stable_within_a_group_whatever_order_the_rows_come_in():
    once = attention_order(CLUSTER, lambda r: r.verdict, lambda r: r.id)
    again = attention_order(list(reversed(CLUSTER)), lambda r: r.verdict, lambda r: r.id)
    assert ids(once) == ids(again)


def test_needing_attention_keeps_failing_failed_stalled_and_queued_in_their_order():
    ordered = attention_order(CLUSTER, lambda r: r.verdict, lambda r: r.id)
    assert ids(needing_attention(ordered, lambda r: r.verdict)) == ["e-failing", "i-failed", "f-stalled", "c-queued",
                                                                     "g-queued"]


def test_counts_say_what_needs_attention_in_the_attention_order_and_nothing_when_nothing_does():
    counts = attention_counts(r.verdict for r in CLUSTER)
    assert counts_text(counts) == "1 failing · 1 failed · 1 stalled · 2 not placed"
    healthy = attention_counts([verdict(VerdictKind.RUNNING), verdict(VerdictKind.DEAD), None])
    assert counts_text(healthy) == ""
    text, needing = summary_lines(CLUSTER, lambda r: r.verdict, lambda r: r.id, limit=2)
    assert text == "1 failing · 1 failed · 1 stalled · 2 not placed" and ids(needing) == ["e-failing", "i-failed"]


def test_a_crash_loop_reason_counts_its_next_try_to_now_and_fits_an_80_column_cell():
    stub, allocs, now = dtle_job("maria")
    v = job_verdict(stub, allocs, now)
    assert v.kind is VerdictKind.FAILING and v.next_try_ns is not None
    wide = reason_now(v, now, width=40)
    assert wide.startswith("src: Error 1193") and wide.endswith("restarting in 8m") and len(wide) <= 40
    later = reason_now(v, v.next_try_ns - 120 * S, width=40)
    assert later.endswith("restarting in 2m")
    assert reason_now(v, v.next_try_ns + S, width=40).endswith("restarting now")
    narrow = reason_now(v, now, width=20)
    assert narrow.startswith("retry 8m: Error") and len(narrow) <= 20  # when, then the error as far as it goes


def test_a_failed_jobs_reason_at_80_columns_is_its_error_without_the_task():
    v = verdict(VerdictKind.FAILED, "src: Error 1193: Unknown system…", task="src",
                last_error="Error 1193: Unknown system variable 'GTID_MODE'")
    assert reason_now(v, 0, width=20) == "Error 1193: Unknown…"
    assert reason_now(v, 0, width=40) == "src: Error 1193: Unknown system…"


def test_a_stalled_reason_counts_from_when_the_gtid_last_moved():
    v = verdict(VerdictKind.STALLED, "Gtid unchanged 5m")
    assert reason_now(v, 7200 * S, stalled_since_ns=0) == "Gtid unchanged 2h00m"
    assert reason_now(verdict(VerdictKind.QUEUED, "no node has its driver"), 0, width=12) == "no node has…"
    assert reason_now(None, 0) == ""


def evaluations(dialect: str, name: str):
    envelope = json.loads((FIXTURES / "real-nomad" / dialect / "troubleshooting" / f"{name}.json").read_text())
    return parse_evaluations(json.loads(envelope["body"]))


@pytest.mark.parametrize("dialect", ["0.11.1", "1.1.2"])
def test_why_a_queued_job_waits_in_one_cell_from_real_evaluations(dialect):
    assert placement_reason(evaluations(dialect, "unplaced-driver/04_job_evaluations"), ["dest"]) == \
        "driver missing on every node"
    assert placement_reason(evaluations(dialect, "unplaced-mem/04_job_evaluations"), ["dest"]) == \
        "not enough memory on 1 node"
    # A group that is not queued has no reason; no evaluation, no reason.
    assert placement_reason(evaluations(dialect, "unplaced-mem/04_job_evaluations"), ["src"]) == ""
    assert placement_reason([], ["dest"]) == ""


def test_a_canceled_evaluation_does_not_name_the_reason():
    evals = parse_evaluations([
        {"ID": "old", "Status": "canceled", "ModifyIndex": 9, "FailedTGAllocs": {
            "dest": {"NodesEvaluated": 2, "ConstraintFiltered": {"${attr.kernel.name} = windows": 2}}}},
        {"ID": "new", "Status": "blocked", "ModifyIndex": 5, "FailedTGAllocs": {
            "dest": {"NodesEvaluated": 0}}},
    ])
    assert placement_reason(evals, ["dest"]) == "no node is up and eligible"
    constraint = parse_evaluations([{"ID": "x", "Status": "blocked", "FailedTGAllocs": {
        "dest": {"NodesEvaluated": 2, "NodesFiltered": 2,
                 "ConstraintFiltered": {"${attr.kernel.name} = windows": 2}}}}])
    assert placement_reason(constraint) == "constraint ${attr.kernel.name} = windows"


@pytest.mark.parametrize("job_id", sorted(IDS))
def test_the_rows_slim_allocations_give_the_verdict_of_the_whole_ones(job_id):
    """What the poller keeps of each element of the allocation list is enough for the verdict."""
    stub, allocs, now = dtle_job(job_id)
    raw = [json.loads((DTLE / f"10_v1_allocation_{alloc_id}.json").read_text()) for alloc_id in IDS[job_id]]
    slim = [row_allocation(d) for d in raw]
    whole = job_verdict(stub, parse_allocations(raw), now)
    assert job_verdict(stub, slim, now) == whole
    assert whole.kind in (VerdictKind.FAILING, VerdictKind.FAILED)


def test_the_incident_reports_cluster_summary_has_the_counts_and_the_jobs_in_attention_order():
    lines = cluster_summary_lines(CLUSTER, now=0.0)
    text = "\n".join(lines)
    assert "needing attention: 1 failing · 1 failed · 1 stalled · 2 not placed." in text
    table = [line for line in lines if line.startswith("| ") and "Verdict" not in line]
    assert [line.split(" | ")[0][2:] for line in table] == ["e-failing", "i-failed", "f-stalled", "c-queued",
                                                             "g-queued"]
    assert "| c-queued | queued | — | no node has its driver |" in lines
    assert "nothing needs attention" in "\n".join(cluster_summary_lines(CLUSTER[:2], now=0.0))


def test_notifys_summary_alert_says_the_cluster_counts_and_lists_kinds_in_attention_order():
    alerts = [Alert("incremental", "b-incr", "t", "b", False), Alert("stalled", "f-stalled", "t", "b", True),
              Alert("dest_failed", "e-failing", "t", "b", True)]
    summary = summarize(alerts, cluster_counts(CLUSTER))
    assert summary.body.startswith("needing attention now: 1 failing · 1 failed · 1 stalled · 2 not placed; ")
    body = summary.body
    assert body.index("dest failed") < body.index("stalled: f-stalled") < body.index("incremental")
    assert summary.count == 3 and summary.bell
