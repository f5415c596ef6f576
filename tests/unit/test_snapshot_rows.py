"""RowBook (rows rebuilt per changed job) and NomadStore (the poller's lists by ID), as plain functions."""

from __future__ import annotations

import random

from dtle_tui.live.rowbook import RowBook
from dtle_tui.live.store import NomadStore
from dtle_tui.model.allocations import slim_allocation
from dtle_tui.model.gtid import GtidProgress, positions_from_kv
from dtle_tui.model.jobs import parse_job_stubs


def stub(job_id: str, modify: int = 10, status: str = "running", stop: bool = False):
    return parse_job_stubs([{"ID": job_id, "Status": status, "Stop": stop, "ModifyIndex": modify,
                             "SubmitTime": 1795766400000000000}])[0]


def alloc(alloc_id: str, job_id: str, group: str, status: str = "running", modify: int = 10, stage: str = ""):
    events = [{"Type": "Driver", "Time": 1795766400000000000 + modify, "DriverMessage": stage}] if stage else []
    return slim_allocation({"ID": alloc_id, "JobID": job_id, "TaskGroup": group, "DesiredStatus": "run",
                            "ClientStatus": status, "CreateIndex": 5, "ModifyIndex": modify,
                            "TaskStates": {group: {"State": "running", "Events": events, "Restarts": 0}}})


def cluster(n: int) -> NomadStore:
    store = NomadStore()
    store.load_jobs([stub(f"job{i:03d}") for i in range(n)], 100)
    allocs = []
    for i in range(n):
        allocs += [alloc(f"s{i:03d}", f"job{i:03d}", "src"), alloc(f"d{i:03d}", f"job{i:03d}", "dest",
                                                                    stage="job_stage_incr")]
    store.load_allocations(allocs, 100)
    return store


def rows_now(book: RowBook, store: NomadStore, positions=None, progress=None, now=1000.0, consul_changed=False):
    changed, reordered = store.take_changes()
    return book.update(store.jobs, store.allocations_of, changed, reordered, positions or {}, progress or {},
                       now, 300.0, True, consul_changed)


def full(store: NomadStore, positions=None, progress=None, now=1000.0):
    """Every row built from nothing: a new book told that every job changed."""
    return RowBook().update(store.jobs, store.allocations_of, set(store.jobs), True, positions or {},
                            progress or {}, now, 300.0, True, True)


def test_only_changed_jobs_get_new_rows_and_the_result_equals_a_full_build():
    store, book = cluster(50), RowBook()
    first = rows_now(book, store)
    assert first == full(store)
    rng = random.Random(3)
    for step in range(20):
        job = f"job{rng.randrange(50):03d}"
        store.put_allocation(alloc(f"d{job[3:]}", job, "dest", rng.choice(["running", "failed"]), 200 + step))
        before = rows_now(book, store)
        assert before == full(store)
    rows = rows_now(book, store)
    store.put_allocation(alloc("d007", "job007", "dest", "lost", 999))
    after = rows_now(book, store)
    assert [r.id for r in after] == [r.id for r in rows]
    assert [r.id for r in after if r is not rows[[x.id for x in rows].index(r.id)]] == ["job007"]
    assert after[7].dest.lost == 1


def test_jobs_coming_and_going():
    store, book = cluster(5), RowBook()
    rows_now(book, store)
    store.put_job(stub("zz-new", 300))
    store.put_allocation(alloc("n1", "zz-new", "src", modify=301))
    rows = rows_now(book, store)
    assert rows[-1].id == "zz-new" and rows[-1].src.running == 1
    store.drop_job("job002")
    rows = rows_now(book, store)
    assert [r.id for r in rows] == ["job000", "job001", "job003", "job004", "zz-new"] and rows == full(store)
    assert "job002" not in book.running


def test_consul_answers_and_time_reach_every_row():
    store, book = cluster(3), RowBook()
    rows_now(book, store)
    kv = [(f"dtle/job{i:03d}/Gtid", f"4f3c9b1e-5d1a-11ee-9b8d-0242ac120002:1-{100 + i}".encode(), 7) for i in range(3)]
    positions = positions_from_kv(kv)
    progress = {}
    for job, pos in positions.items():
        progress[job] = GtidProgress()
        progress[job].feed(1000.0, pos.gtid.transactions)
    rows = rows_now(book, store, positions, progress, now=1000.0, consul_changed=True)
    assert [r.transactions for r in rows] == [100, 101, 102] and not any(r.stalled for r in rows)
    assert book.stall_due == 1300.0
    # Nothing changed but the clock: past the threshold every incremental, running job is stalled.
    rows = rows_now(book, store, positions, progress, now=1301.0)
    assert all(r.stalled for r in rows) and rows == full(store, positions, progress, now=1301.0)


def test_the_store_never_goes_back_to_an_older_object():
    store = NomadStore()
    store.load_jobs([stub("a", 10), stub("b", 10)], 10)
    store.take_changes()
    assert not store.put_job(stub("a", 9))  # a replayed, older event
    assert store.put_job(stub("a", 12, stop=True))
    # A read answered at index 11 while events moved on: the newer object stays, and so does a job
    # created after the read; one gone before the read goes.
    store.put_job(stub("c", 15))
    store.load_jobs([stub("a", 11), stub("d", 11)], 11)
    assert store.jobs["a"].stop and set(store.jobs) == {"a", "c", "d"}
    changed, reordered = store.take_changes()
    assert reordered and changed == {"a", "b", "c", "d"}


def test_allocations_by_job_follow_reads_and_events():
    store = NomadStore()
    store.load_allocations([alloc("x", "j1", "src", modify=5), alloc("y", "j1", "dest", modify=5)], 5)
    store.take_changes()
    same = store.allocs["x"]
    store.load_allocations([same, alloc("y", "j1", "dest", modify=5)], 6)
    assert store.take_changes()[0] == {"j1"}  # y is a new object (equal content): j1 is re-derived
    store.load_allocations([store.allocs["x"], store.allocs["y"]], 7)
    assert store.take_changes()[0] == set()
    store.put_allocation(alloc("z", "j2", "src", modify=8))
    assert [a.id for a in store.allocations_of("j2")] == ["z"] and store.take_changes()[0] == {"j2"}
