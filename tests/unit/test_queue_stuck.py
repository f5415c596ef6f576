"""dtle's frozen delay as a stall known at once (docs/reference/dtle-monitor.md §2.3: every 15 s dtle resets
an idle delay to 0; with a non-empty queue that does not move it leaves the value alone), and the jobs of
another driver on the Jobs rows: the rule, the per-task tracking, the job's figures, the verdict, the rows."""

from __future__ import annotations

import dataclasses

import pytest

from dtle_tui.live.rowbook import RowBook, count_allocations, row_allocation
from dtle_tui.live.store import NomadStore
from dtle_tui.model.allocations import alloc_role, dtle_role
from dtle_tui.model.monitor import JobProgress, TaskMonitor, TaskReading, job_progress, same_since, taken_s
from dtle_tui.model.stall import STUCK_WINDOW_S, queue_stuck
from dtle_tui.model.verdict import VerdictKind, job_verdict
from tests.unit.test_snapshot_rows import alloc, rows_now, stub

S = 1_000_000_000
T0 = 1_795_766_400.0  # dtle's clock of the first reading, epoch s
GTID = "a81aa40a-45dd-11ee-a5f0-4b63b62ac1fe:1-60598"


def answer(delay: int, gtid: str = GTID, position: int = 4567, at: float = T0) -> TaskMonitor:
    return TaskMonitor(progress_text="100.0", delay_s=delay, stage="Waiting for GTID to be committed",
                       file="mysql-bin.000123", position=position, gtid_set=gtid, timestamp=int(at * S))


def follow(answers: list[TaskMonitor]) -> list:
    """`same_since` folded over one task's answers, as live/monitor.py does; the rule at each reading."""
    previous, since, taken, out = None, None, None, []
    for m in answers:
        now = taken_s(m, 0.0)
        since = same_since(previous, m, since, taken, now)
        previous, taken = m, now
        out.append(queue_stuck(m.delay_s, since, now))
    return out


def test_a_delay_frozen_over_two_ticks_with_the_gtid_still_is_a_stuck_queue():
    verdicts = follow([answer(265, at=T0), answer(265, at=T0 + 15), answer(265, at=T0 + 30),
                       answer(265, at=T0 + 45)])
    assert verdicts == [None, None, T0, T0]  # from the first reading with that value, once 30 s apart


def test_a_window_under_30_s_is_not_enough():
    assert STUCK_WINDOW_S == 30.0
    assert follow([answer(265, at=T0), answer(265, at=T0 + 29.9)]) == [None, None]
    assert queue_stuck(265, T0, T0 + 29.999) is None and queue_stuck(265, T0, T0 + 30) == T0


@pytest.mark.parametrize("second, why", [
    (answer(280, at=T0 + 40), "a growing delay is not a frozen one"),
    (answer(0, at=T0 + 40), "dtle reset it to 0: its queue emptied"),
    (answer(265, gtid=GTID[:-5] + "60611", at=T0 + 40), "the Gtid moved"),
    (answer(265, position=9999, at=T0 + 40), "the position moved"),
])
def test_growing_reset_or_moving_is_no_stuck_queue(second, why):
    assert follow([answer(265, at=T0), second]) == [None, None], why


def test_a_new_run_counts_from_its_own_first_reading():
    seen = follow([answer(265, at=T0), answer(280, at=T0 + 20), answer(280, at=T0 + 40), answer(280, at=T0 + 50)])
    assert seen == [None, None, None, T0 + 20]


def test_without_dtle_timestamps_the_console_clock_stands_in():
    m = dataclasses.replace(answer(265), timestamp=0)
    assert taken_s(m, 123.0) == 123.0
    kafka = dataclasses.replace(answer(265), timestamp=int(T0))  # a Kafka dest's timestamp is in seconds
    assert taken_s(kafka, 0.0) == T0


def reading(task: str, delay: int, since, taken) -> TaskReading:
    return TaskReading(task, answer(delay, at=taken), None, taken, None, since, taken)


def test_the_job_takes_the_task_whose_delay_is_its_own():
    stuck = job_progress("incr", reading("src", 265, T0, T0 + 30), reading("dest", 3, None, T0 + 30), now=T0 + 30)
    assert (stuck.delay_s, stuck.queue_stuck_since) == (265, T0)
    # The larger delay is a fresh one: a frozen small one elsewhere says nothing of the job's.
    fresh = job_progress("incr", reading("src", 265, T0 + 25, T0 + 30), reading("dest", 3, T0, T0 + 30), now=T0 + 30)
    assert fresh.queue_stuck_since is None
    assert job_progress("full", reading("src", 265, T0, T0 + 30), None, now=T0 + 30).queue_stuck_since is None


def stalled_job():
    s = stub("users-stalled")
    allocs = [alloc("s1", "users-stalled", "src"), alloc("d1", "users-stalled", "dest", stage="job_stage_incr")]
    return s, allocs


def test_the_verdict_says_stalled_with_the_frozen_delay():
    s, allocs = stalled_job()
    verdict = job_verdict(s, allocs, int(T0 * S), frozen_delay_s=265)
    assert verdict.kind is VerdictKind.STALLED and verdict.reason == "dtle delay frozen at 265s"
    assert "queue is stuck" in verdict.detail
    # Both: the Gtid's own age leads, dtle's word follows in the detail.
    both = job_verdict(s, allocs, int(T0 * S), frozen_delay_s=265, stalled_since_ns=int((T0 - 600) * S))
    assert both.reason == "Gtid unchanged 10m" and "265 s" in both.detail
    down = [allocs[0], alloc("d1", "users-stalled", "dest", status="pending", stage="job_stage_incr")]
    assert job_verdict(s, down, int(T0 * S), frozen_delay_s=265).kind is not VerdictKind.STALLED


def progress(delay: int, stuck) -> JobProgress:
    return JobProgress(phase="incr", delay_s=delay, queue_stuck_since=stuck)


def test_rows_follow_dtles_word_and_only_its_jobs_rows_are_rebuilt():
    store, book = NomadStore(), RowBook()
    store.load_jobs([stub("users-stalled"), stub("job1")], 100)
    store.load_allocations([*stalled_job()[1], alloc("s2", "job1", "src"),
                            alloc("d2", "job1", "dest", stage="job_stage_incr")], 100)
    first = {r.id: r for r in rows_now(book, store)}
    assert [r.verdict.kind for r in first.values()] == [VerdictKind.RUNNING, VerdictKind.RUNNING]

    def update(view):
        changed, reordered = store.take_changes()
        return {r.id: r for r in book.update(store.jobs, store.allocations_of, changed, reordered, {}, {}, 1000.0,
                                             300.0, True, False, dtle=view)}

    def same(a, b):
        return all(a[j] is b[j] for j in a) and a.keys() == b.keys()

    view = {"users-stalled": progress(265, None), "job1": progress(2, None)}
    assert same(update(view), first)  # figures, but no stuck queue: nothing rebuilt
    view = {"users-stalled": progress(265, T0), "job1": progress(1, None)}
    second = update(view)
    stalled = second["users-stalled"]
    assert stalled.verdict.kind is VerdictKind.STALLED and stalled.verdict.reason == "dtle delay frozen at 265s"
    assert second["job1"] is first["job1"] and stalled.stalled_since_ns is None
    assert same(update(view), second)  # the same mapping again: nothing to do
    assert same(update(dict(view)), second)  # an equal one: nothing rebuilt either
    third = update({"job1": progress(1, None)})  # out of view, or dtle's delay moved again
    assert third["users-stalled"].verdict.kind is VerdictKind.RUNNING and third["job1"] is first["job1"]


def other_alloc(alloc_id: str, job_id: str, group: str, task: str, status: str = "running"):
    return row_allocation({"ID": alloc_id, "JobID": job_id, "TaskGroup": group, "DesiredStatus": "run",
                            "ClientStatus": status, "CreateIndex": 5, "ModifyIndex": 10,
                            "TaskStates": {task: {"State": "running", "Events": [], "Restarts": 0}}})


def test_roles_come_from_dtles_names_and_nothing_else_is_dest():
    assert [dtle_role(n) for n in ("src", "Source", "dst", "DEST", "destination", "heartbeat")] == \
        ["src", "src", "dest", "dest", "dest", ""]
    assert alloc_role(other_alloc("a", "j", "g1", "src")) == "src"  # a group named otherwise: its task says
    src, dest, others = count_allocations([other_alloc("h", "pt-heartbeat", "heartbeat", "heartbeat"),
                                           other_alloc("h2", "pt-heartbeat", "heartbeat", "heartbeat", "failed")])
    assert (src.running, dest.running, dest.failed) == (0, 0, 0)
    assert [(g, c.describe()) for g, c in others] == [("heartbeat", "1r 1f")]


def test_a_job_of_another_driver_has_its_counts_under_its_group_name():
    store, book = NomadStore(), RowBook()
    store.load_jobs([stub("pt-heartbeat")], 100)
    store.load_allocations([other_alloc("h", "pt-heartbeat", "heartbeat", "heartbeat")], 100)
    row = rows_now(book, store)[0]
    assert not row.is_dtle and row.others_text() == "heartbeat 1 run"
    assert row.src.describe() == row.dest.describe() == "—"
