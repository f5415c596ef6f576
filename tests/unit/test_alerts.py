"""Alerts on transitions (live/alerts.py): what is news between two snapshots, and the rate limit."""

from __future__ import annotations

from typing import Optional

from dtle_tui.live.alerts import Alert, AlertGate, TransitionWatch, summarize
from dtle_tui.live.snapshot import AllocCounts, FeedState, JobRow, Snapshot
from dtle_tui.model.nodes import Driver, Node
from dtle_tui.model.stage import Stage

OK = FeedState(ok_at=1.0)


def row(job_id: str, stage: Stage = Stage.INCREMENTAL, stalled: bool = False, failed: int = 0,
        lost: int = 0, running: int = 1) -> JobRow:
    return JobRow(id=job_id, status="running", stage=stage, stage_since_ns=1, src=AllocCounts(running=1),
                  dest=AllocCounts(running=running, failed=failed, lost=lost), transactions=10, gtid_text="u:1-10",
                  binlog=None, rate=0.0, stalled=stalled, submit_time_ns=1, stop=False)


def node(node_id: str, healthy: Optional[bool] = True, status: str = "ready", description: str = "") -> Node:
    drivers = {} if healthy is None else {"dtle": Driver("dtle", True, healthy, description)}
    return Node(id=node_id, name=f"name-{node_id}", status=status, drivers=drivers)


class Feed:
    """Snapshots as the poller makes them: a rising generation, both feeds answered unless told."""

    def __init__(self) -> None:
        self.generation = 0

    def __call__(self, *rows: JobRow, nodes: tuple = (), nomad: FeedState = OK, consul: FeedState = OK) -> Snapshot:
        self.generation += 1
        return Snapshot(generation=self.generation, rows=tuple(rows), nodes=tuple(nodes), nomad=nomad,
                        consul=consul)


def kinds(alerts: list) -> list:
    return [(a.kind, a.subject) for a in alerts]


def test_nothing_for_what_is_already_so_at_start_up_and_nothing_while_it_holds() -> None:
    snap, watch = Feed(), TransitionWatch()
    bad = (row("stuck", stalled=True), row("broken", failed=2, lost=1), row("copying", stage=Stage.FULL),
           row("done"))
    nodes = (node("n1", healthy=False), node("n2", status="down"), node("n3", healthy=None))
    assert watch.observe(snap(*bad, nodes=nodes)) == []
    # Same states in new objects (every refresh rebuilds what changed): still nothing.
    again = (row("stuck", stalled=True), row("broken", failed=2, lost=1), row("copying", stage=Stage.FULL),
             row("done"))
    assert watch.observe(snap(*again, nodes=(node("n1", healthy=False), node("n2", status="down")))) == []


def test_a_job_newly_stalled_alerts_once_with_the_bell_and_again_only_after_it_moved() -> None:
    snap, watch = Feed(), TransitionWatch(stall_threshold_s=90)
    watch.observe(snap(row("a"), row("b")))
    alerts = watch.observe(snap(row("a", stalled=True), row("b")))
    assert kinds(alerts) == [("stalled", "a")]
    assert alerts[0].bell and "1m" in alerts[0].body  # the threshold in the operator's words
    assert watch.observe(snap(row("a", stalled=True), row("b"))) == []
    assert watch.observe(snap(row("a"), row("b"))) == []  # moving again is not an alert
    assert kinds(watch.observe(snap(row("a", stalled=True), row("b")))) == [("stalled", "a")]


def test_stall_marks_are_not_trusted_while_consul_does_not_answer() -> None:
    snap, watch = Feed(), TransitionWatch()
    watch.observe(snap(row("a", stalled=True), row("b")))
    down = FeedState(ok_at=1.0, error="Consul unreachable", stale_since=2.0)
    # The poller clears every STALLED mark while Consul is failing; they come back with it.
    assert watch.observe(snap(row("a"), row("b"), consul=down)) == []
    assert watch.observe(snap(row("a", stalled=True), row("b"))) == []
    # A job that stalled meanwhile is news once Consul says so.
    assert watch.observe(snap(row("a"), row("b"), consul=down)) == []
    assert kinds(watch.observe(snap(row("a", stalled=True), row("b", stalled=True)))) == [("stalled", "b")]
    # Consul not read yet (it starts after the first paint): the same.
    assert watch.observe(snap(row("a"), row("b"), consul=FeedState())) == []
    assert watch.observe(snap(row("a", stalled=True), row("b", stalled=True))) == []


def test_dest_failures_alert_when_their_count_grows() -> None:
    snap, watch = Feed(), TransitionWatch()
    watch.observe(snap(row("a"), row("b", failed=1)))
    alerts = watch.observe(snap(row("a", failed=1, running=0), row("b", failed=1)))
    assert kinds(alerts) == [("dest_failed", "a")] and alerts[0].bell and "1 failed" in alerts[0].body
    assert watch.observe(snap(row("a", failed=1, running=0), row("b", failed=1))) == []
    alerts = watch.observe(snap(row("a", failed=1, lost=1), row("b", failed=2)))
    assert sorted(kinds(alerts)) == [("dest_failed", "a"), ("dest_failed", "b")]
    assert watch.observe(snap(row("a"), row("b"))) == []  # replaced and gone: not an alert


def test_a_dtle_driver_turning_unhealthy_or_its_node_going_down_alerts_once() -> None:
    snap, watch = Feed(), TransitionWatch()
    watch.observe(snap(nodes=(node("n1"), node("n2"), node("n3", healthy=None), node("n4", healthy=False))))
    alerts = watch.observe(snap(nodes=(node("n1", healthy=False, description="failed to connect to consul"),
                                       node("n2", status="down"), node("n3", healthy=None),
                                       node("n4", healthy=False), node("n5", healthy=False))))
    assert kinds(alerts) == [("driver_unhealthy", "name-n1"), ("driver_unhealthy", "name-n2")]
    assert "failed to connect to consul" in alerts[0].body and "down" in alerts[1].body
    assert all(a.bell for a in alerts)
    assert watch.observe(snap(nodes=(node("n1", healthy=False), node("n2", status="down")))) == []
    watch.observe(snap(nodes=(node("n1"),)))
    assert kinds(watch.observe(snap(nodes=(node("n1", healthy=False),)))) == [("driver_unhealthy", "name-n1")]


def test_entering_incremental_alerts_without_the_bell_once_per_full_copy() -> None:
    snap, watch = Feed(), TransitionWatch()
    watch.observe(snap(row("a", stage=Stage.FULL), row("b", stage=Stage.UNKNOWN)))
    alerts = watch.observe(snap(row("a"), row("b", stage=Stage.UNKNOWN)))
    assert kinds(alerts) == [("incremental", "a")] and not alerts[0].bell
    # A rescheduled dest has no stage events until it resumes incremental: that is not news.
    assert watch.observe(snap(row("a", stage=Stage.UNKNOWN), row("b", stage=Stage.UNKNOWN))) == []
    assert watch.observe(snap(row("a"), row("b", stage=Stage.UNKNOWN))) == []
    # A new full copy (a Gtid reset) and incremental again: news again.
    watch.observe(snap(row("a", stage=Stage.FULL), row("b", stage=Stage.UNKNOWN)))
    assert kinds(watch.observe(snap(row("a"), row("b", stage=Stage.UNKNOWN)))) == [("incremental", "a")]
    # b had no known stage at start-up: it may have been incremental all along.
    assert watch.observe(snap(row("a"), row("b"))) == []


def test_a_job_added_after_start_up_alerts_on_its_first_incremental() -> None:
    snap, watch = Feed(), TransitionWatch()
    watch.observe(snap(row("a")))
    assert watch.observe(snap(row("a"), row("new", stage=Stage.UNKNOWN, running=0))) == []
    assert kinds(watch.observe(snap(row("a"), row("new")))) == [("incremental", "new")]
    # Purged and registered again under the same ID: a new job.
    watch.observe(snap(row("a")))
    assert kinds(watch.observe(snap(row("a"), row("new", stage=Stage.FULL)))) == []
    assert kinds(watch.observe(snap(row("a"), row("new")))) == [("incremental", "new")]


def test_nothing_is_judged_before_every_nomad_feed_answered() -> None:
    snap, watch = Feed(), TransitionWatch()
    loading = FeedState()  # ok_at None: some Nomad list has not answered yet
    # Jobs listed before their allocations: no stage, no failures yet.
    assert watch.observe(snap(row("a", stage=Stage.UNKNOWN, running=0), nomad=loading)) == []
    assert watch.observe(snap(row("a", failed=1, stalled=True))) == []  # the first complete view: start-up
    assert not watch.observe(snap(row("a", failed=1, stalled=True)))


def test_a_new_poller_counting_from_one_again_is_a_new_start() -> None:
    snap, watch = Feed(), TransitionWatch()
    watch.observe(snap(row("a")))
    watch.observe(snap(row("a")))
    other = Feed()  # another context's poller
    assert watch.observe(other(row("a", stalled=True, failed=3), row("x"))) == []
    assert kinds(watch.observe(other(row("a", stalled=True, failed=4), row("x")))) == [("dest_failed", "a")]


def alert(subject: str, kind: str = "stalled", bell: bool = True) -> Alert:
    return Alert(kind, subject, f"title {subject}", "body", bell)


def test_gate_sends_a_few_alerts_as_they_are_and_many_at_once_as_one_summary() -> None:
    gate = AlertGate(burst=3, window_s=30)
    assert [a.subject for a in gate.offer([alert("a"), alert("b")], now=0)] == ["a", "b"]
    gate = AlertGate(burst=3, window_s=30)
    many = [alert(f"j{i}") for i in range(5)] + [alert("k", "incremental", bell=False)]
    out = gate.offer(many, now=0)
    assert len(out) == 1 and out[0].kind == "summary" and out[0].count == 6 and out[0].bell
    assert "5 stalled: j0, j1, j2 and 2 more" in out[0].body and "1 incremental: k" in out[0].body


def test_gate_holds_what_comes_when_the_burst_is_spent_and_releases_it_in_one_summary() -> None:
    gate = AlertGate(burst=3, window_s=30)
    assert len(gate.offer([alert("a"), alert("b"), alert("c")], now=0)) == 3
    assert gate.due is None
    assert gate.offer([alert("d")], now=5) == []
    assert gate.offer([alert("e", "incremental", bell=False)], now=6) == []
    assert gate.due == 30
    assert gate.release(now=29) == []
    out = gate.release(now=30)
    assert len(out) == 1 and out[0].kind == "summary" and out[0].count == 2
    assert gate.due is None and gate.release(now=100) == []
    assert [a.subject for a in gate.offer([alert("f")], now=100)] == ["f"]


def test_summary_of_summaries_counts_every_alert() -> None:
    inner = summarize([alert("a"), alert("b")])
    outer = summarize([inner, alert("c", "dest_failed")])
    assert outer.count == 3 and outer.title == "dtle: 3 alerts"


def test_the_stall_due_time_counts_only_jobs_that_can_stall() -> None:
    # The poller rebuilds at RowBook.stall_due so a quiet cluster shows (and alerts) a stall on time; a job
    # that cannot be marked STALLED (its src is down) must not hold a due time in the past.
    from dtle_tui.live.rowbook import RowBook
    from dtle_tui.model.gtid import GtidProgress, positions_from_kv
    from tests.unit.test_snapshot_rows import alloc, cluster, rows_now

    store, book = cluster(2), RowBook()
    rows_now(book, store)
    kv = [(f"dtle/job{i:03d}/Gtid", f"4f3c9b1e-5d1a-11ee-9b8d-0242ac120002:1-{100 + i}".encode(), 7) for i in range(2)]
    positions = positions_from_kv(kv)
    progress = {job: GtidProgress() for job in positions}
    progress["job000"].feed(1000.0, 100)
    progress["job001"].feed(1100.0, 101)
    rows_now(book, store, positions, progress, now=1100.0, consul_changed=True)
    assert book.stall_due == 1300.0
    src = next(a for a in store.allocations_of("job000") if a.task_group == "src")
    store.put_allocation(alloc(src.id, "job000", "src", status="failed", modify=50))
    rows_now(book, store, positions, progress, now=1100.0)
    # At job000's old due time every row is derived again: job000 cannot stall, so the next due is job001's.
    rows = rows_now(book, store, positions, progress, now=1301.0)
    assert not any(r.stalled for r in rows) and book.stall_due == 1400.0
