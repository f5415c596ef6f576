"""The poller following Nomad's event stream, over real HTTP against the simulator (no terminal).

What is checked is what the operator relies on: a change shows without the whole lists being read
again, anything the stream brings shows (a job never read, a stop, a purge), and where the stream is
not available (0.11, a token or proxy that refuses it) or drops, the data keeps coming.
"""

from __future__ import annotations

import json
import threading
from typing import Callable, Optional

import pytest

from dtle_tui.api.eventstream import parse_event_line
from dtle_tui.live.eventfeed import EventFeed
from dtle_tui.live.poller import Poller
from dtle_tui.live.snapshot import Snapshot
from dtle_tui.sim import SimCluster
from dtle_tui.sim.server import text
from tests.helpers import loopback
from tests.helpers.paths import FIXTURES
from tests.helpers.sim import settings_for, touch_dest
from tests.helpers.wait import until_blocking

LISTS = ("/v1/jobs", "/v1/allocations", "/v1/nodes")
FIXTURES = FIXTURES / "reference"


class Watcher:
    """A started Poller and the snapshots it publishes."""

    def __init__(self, sim, tmp_path, *extra: str) -> None:
        self.sim = sim
        self.snapshots: list[Snapshot] = []
        self._lock = threading.Lock()
        self.poller = Poller(settings_for(sim, tmp_path, *extra), self._got)

    def _got(self, snapshot: Snapshot) -> None:
        with self._lock:
            self.snapshots.append(snapshot)

    @property
    def last(self) -> Snapshot:
        with self._lock:
            return self.snapshots[-1] if self.snapshots else Snapshot()

    def until(self, condition: Callable[[], object], what: str) -> object:
        return until_blocking(condition, what)

    def row(self, job_id: str):
        return self.last.row(job_id)

    def list_reads(self) -> list:
        return [e for e in self.sim.requests.entries() if e[1] == "GET" and e[2] in LISTS]


@pytest.fixture
def frozen(tmp_path):
    with SimCluster(dialect="1.1", seed=1, frozen=True) as sim:
        watcher = Watcher(sim, tmp_path)
        watcher.poller.start()
        try:
            yield watcher
        finally:
            watcher.poller.stop()


def stream_state(w: Watcher) -> Optional[str]:
    events = w.poller.events  # set once the poller's thread has started its feeds
    return events.state if events is not None else None


def live(w: Watcher) -> None:
    """The stream live and every first answer in (Consul's too: its positions change every row)."""
    w.until(lambda: stream_state(w) == "live" and w.last.rows and w.last.nomad.ok and w.last.consul.ok
            and w.last.positions and all(r.transactions is not None for r in w.last.rows
                                         if r.id in w.last.positions and w.last.positions[r.id].gtid is not None),
            "the stream live, Consul read")  # a job that never copied has keys but no Gtid (real dtle)
    # The queued jobs' evaluations are read after the rows, and their reason rebuilds those rows: in them
    # before a test takes its "before" (a loaded run saw reports-v2's row rebuilt after it).
    queued = [r.id for r in w.last.rows if r.src.queued or r.dest.queued]
    w.until(lambda: w.poller.placements.answered(queued) and all(
        w.poller.placements.reason(job) and w.row(job).verdict is not None
        and w.poller.placements.reason(job) in w.row(job).verdict.reason for job in queued),
        "the queued jobs' reasons in their rows")


def test_a_change_comes_by_the_stream_and_only_its_row_is_rebuilt(frozen):
    w, sim = frozen, frozen.sim
    live(w)
    before = {r.id: r for r in w.last.rows}
    sim.reset_requests()
    touch_dest(sim, "job1", "failed")
    w.until(lambda: w.row("job1").dest.failed == 1, "job1's dest failed")
    assert w.list_reads() == []  # not one of the lists was read again
    after = {r.id: r for r in w.last.rows}
    assert list(after) == list(before)  # same rows, same order
    assert [job for job in after if after[job] is not before[job]] == ["job1"]


def test_jobs_the_poller_never_read_a_stop_and_a_purge(frozen):
    w, sim = frozen, frozen.sim
    live(w)
    sim.reset_requests()
    spec = json.loads((FIXTURES / "dtle_job_example.json").read_text())
    spec["Job"]["ID"] = "brand-new"
    loopback.post(sim.nomad_addr + "/v1/jobs", json=spec).raise_for_status()
    w.until(lambda: w.row("brand-new"), "the new job's row")
    loopback.delete(sim.nomad_addr + "/v1/job/job1").raise_for_status()
    w.until(lambda: w.row("job1").status == "stopped", "job1 stopped")
    loopback.delete(sim.nomad_addr + "/v1/job/job10", params={"purge": "true"}).raise_for_status()
    w.until(lambda: w.row("job10") is None, "job10 gone")
    assert w.list_reads() == []
    # The purge came as an Evaluation only: one check of that job, nothing per other job.
    reads = [(e[1], e[2]) for e in sim.requests.entries() if e[0] == "nomad" and e[1] == "GET"]
    assert reads == [("GET", "/v1/job/job10")]


def test_nomad_011_has_no_stream_and_blocking_queries_carry_the_changes(tmp_path):
    with SimCluster(dialect="0.11", seed=1, frozen=True) as sim:
        w = Watcher(sim, tmp_path)
        w.poller.start()
        try:
            w.until(lambda: stream_state(w) == "off" and w.last.rows and w.last.nomad.ok, "stream off")
            assert sim.request_count("nomad", "/v1/event/stream") == 1
            w.until(lambda: sim.requests.in_flight("nomad", "/v1/allocations"), "a held blocking query")
            touch_dest(sim, "job1", "failed")
            w.until(lambda: w.row("job1").dest.failed == 1, "job1's dest failed")
            assert w.last.nomad.error is None
        finally:
            w.poller.stop()


def test_a_stream_refused_by_a_token_or_proxy_falls_back_quietly(tmp_path):
    with SimCluster(dialect="1.1", seed=1, frozen=True) as sim:
        real = sim._nomad.app

        def refuse(request):  # a token that may list jobs but not subscribe (1.1.2 answers 403/500)
            return text(403, "Permission denied") if request.path == "/v1/event/stream" else real(request)

        sim._nomad.app = refuse
        w = Watcher(sim, tmp_path)
        w.poller.start()
        try:
            w.until(lambda: stream_state(w) == "off" and w.last.rows, "stream off")
            touch_dest(sim, "job1", "failed")
            w.until(lambda: w.row("job1").dest.failed == 1, "job1's dest failed")
            assert w.last.nomad.ok and w.last.nomad.error is None  # nothing for the operator to fix
            # ctrl+r tries the stream again (the operator may have fixed the token).
            sim._nomad.app = real
            w.poller.refresh_now()
            w.until(lambda: stream_state(w) == "live", "the stream live after ctrl+r")
        finally:
            w.poller.stop()


def test_a_dropped_stream_resumes_from_the_last_index(frozen):
    w, sim = frozen, frozen.sim
    live(w)
    touch_dest(sim, "job1", "failed")
    w.until(lambda: w.row("job1").dest.failed == 1, "job1's dest failed")
    last = w.poller.events.last_index
    assert last > 0
    sim.reset_requests()
    sim.drop_event_streams()
    w.until(lambda: sim.request_count("nomad", "/v1/event/stream") == 1
            and stream_state(w) == "live", "reconnected")
    (stream,) = [e for e in sim.requests.entries() if e[2] == "/v1/event/stream"]
    assert f"index={last}&" in stream[3]
    touch_dest(sim, "job10", "failed")
    w.until(lambda: w.row("job10").dest.failed == 1, "job10's dest failed")
    assert w.list_reads() == []


def test_when_nomad_goes_down_the_lists_take_over_and_the_stream_comes_back(frozen, monkeypatch):
    from dtle_tui.live import feeds

    monkeypatch.setattr(feeds, "BACKOFF_FIRST_S", 0.1)
    monkeypatch.setattr(feeds, "BACKOFF_CAP_S", 0.2)
    w, sim = frozen, frozen.sim
    live(w)
    sim.nomad_faults.down = True
    w.until(lambda: w.last.nomad.error and "unreachable" in w.last.nomad.error, "Nomad shown unreachable")
    assert stream_state(w) == "off"
    sim.nomad_faults.down = False
    w.until(lambda: stream_state(w) == "live" and w.last.nomad.ok, "back live")
    touch_dest(sim, "job1", "failed")
    w.until(lambda: w.row("job1").dest.failed == 1, "job1's dest failed")


def test_heartbeats_keep_the_data_fresh(frozen):
    w, sim = frozen, frozen.sim
    live(w)
    sim._nomad_api.heartbeat_s = 0.2
    sim.drop_event_streams()  # the new stream has the short heartbeat
    w.until(lambda: stream_state(w) == "live", "reconnected")
    sim.reset_requests()
    seen = w.last.nomad.ok_at
    w.until(lambda: w.last.nomad.ok_at and w.last.nomad.ok_at > seen + 0.3, "a fresher ok_at")
    assert w.list_reads() == [] and w.last.nomad.error is None


def test_periodic_reconciliation_reads_the_lists_again(frozen, monkeypatch):
    from dtle_tui.live import eventfeed

    w, sim = frozen, frozen.sim
    live(w)
    # Something the stream never tells of (a garbage collection): gone from the lists only.
    with sim.state.lock:
        alloc = touch_dest(sim, "job1")
        del sim.state.allocs[alloc.id]
        sim.state.jobs["job1"].allocs.remove(alloc)
        sim.state._cache.clear()
        sim.state.bump("allocs")
    monkeypatch.setattr(eventfeed, "RECONCILE_S", 0.05)
    w.poller.call_soon(w.poller.events._schedule_reconcile)
    w.until(lambda: w.row("job1").dest.running == 0 and not w.poller.store.allocs.get(alloc.id),
            "the collected allocation gone")


def test_the_documented_node_frame_applies():
    frame = parse_event_line(json.dumps(json.loads((FIXTURES / "nomad_event_stream_frame.json").read_text())))
    assert frame.index == 7 and frame.events[0].type == "NodeRegistration"

    from dtle_tui.live.store import NomadStore

    store = NomadStore()
    feed = EventFeed(None, store, list_feeds=list, changed=lambda *a: None, allocation_item=lambda d: d,
                     timeout=1.0)  # type: ignore[arg-type]  (apply never calls Nomad for a Node frame)
    feed.apply(frame)
    node = store.nodes["ccc4ce56-7f0a-4124-b8b1-a4015aa82c40"]
    assert (node.name, node.address, node.status) == ("nomad-4", "127.0.0.1", "initializing")
    assert feed.last_index == 7
