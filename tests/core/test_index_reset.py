"""A cluster that comes back different (issue 16): when an index goes backwards, start over.

The poller runs against the simulator over real HTTP; the simulator is restarted under it as a `-dev`
agent would be (same jobs registered again, new allocation and node IDs, indexes low again). What the
poller holds must then equal what the restarted cluster says, never a merge of before and after.
"""

from __future__ import annotations

import pytest

from dtle_tui.sim import SimCluster
from tests.core.test_poller_events import LISTS, Watcher, live, stream_state
from tests.helpers import loopback
from tests.helpers.sim import touch_dest


@pytest.fixture
def fast_backoff(monkeypatch):
    """Short back-off, and short blocking waits: a list that takes over from the stream while the agent
    restarts holds its query at an index of the old cluster, and only the wait's end answers it (the
    reset is then seen; with the default 60 s wait, a busy machine's test could end first)."""
    from dtle_tui.live import feeds

    monkeypatch.setattr(feeds, "BACKOFF_FIRST_S", 0.1)
    monkeypatch.setattr(feeds, "BACKOFF_CAP_S", 0.3)
    monkeypatch.setattr(feeds, "BLOCK_WAIT", "2s")


def truth(sim: SimCluster) -> tuple:
    """The job, allocation and node IDs the simulated Nomad serves right now, read over HTTP."""
    return tuple(frozenset(item["ID"] for item in loopback.get(sim.nomad_addr + path).json()) for path in LISTS)


def held(w: Watcher) -> tuple:
    store = w.poller.store
    return frozenset(store.jobs), frozenset(store.allocs), frozenset(store.nodes)


def index_of(sim: SimCluster, path: str) -> int:
    return int(loopback.get(sim.nomad_addr + path).headers["X-Nomad-Index"])


@pytest.mark.parametrize("dialect", ["1.1", "0.11"])
def test_a_restarted_nomad_replaces_everything_held(tmp_path, fast_backoff, dialect):
    with SimCluster(dialect=dialect, seed=1, frozen=True) as sim:
        w = Watcher(sim, tmp_path)
        w.poller.start()
        try:
            w.until(lambda: held(w) == truth(sim) and w.last.nomad.ok, "the first reads")
            if dialect == "1.1":
                w.until(lambda: stream_state(w) == "live", "the stream live")
            else:  # the restart cuts the held blocking queries, as a killed agent does
                w.until(lambda: sim.requests.in_flight("nomad", "/v1/allocations"), "a held blocking query")
            old_allocs, old_index = held(w)[1], index_of(sim, "/v1/allocations")
            sim.restart_nomad()
            new = truth(sim)
            assert index_of(sim, "/v1/allocations") < old_index and not (new[1] & old_allocs)
            w.until(lambda: held(w) == new and "state was reset" in w.last.notice
                    and {r.id for r in w.last.rows} == new[0],
                    "exactly the restarted cluster's jobs, allocations and nodes; the reset said")
            # Every row counts only the new allocations: one src and one dest per running job.
            w.until(lambda: w.row("job1") and w.row("job1").src.running == 1 and w.row("job1").dest.running == 1,
                    "job1 with one src and one dest")
            # And it keeps following the new cluster (the stream from the new index on 1.1).
            if dialect == "1.1":
                w.until(lambda: stream_state(w) == "live", "the stream live again")
                assert w.poller.events.last_index < old_index
            touch_dest(sim, "job10", "failed")
            w.until(lambda: w.row("job10").dest.failed == 1, "job10's dest failed on the new cluster")
            assert held(w) == truth(sim)
        finally:
            w.poller.stop()


def test_a_restarted_consul_drops_positions_and_rates(tmp_path, fast_backoff):
    with SimCluster(dialect="1.1", seed=1, frozen=True) as sim:
        w = Watcher(sim, tmp_path)
        w.poller.start()
        try:
            live(w)
            assert sim.scenario.orphan_job in w.last.positions
            assert w.poller.positions.progress.get("job1") is not None  # the poller's own samples (its thread's)
            w.until(lambda: sim.requests.in_flight("consul", "/v1/kv/dtle"), "Consul's held query")
            sim.restart_consul()
            w.until(lambda: not w.last.positions and "Consul" in w.last.notice, "no positions, the reset said")
            assert w.poller.positions.progress.get("job1") is None  # samples from before would make a rate or a stall
            assert all(r.rate is None and not r.stalled for r in w.last.rows)
            sim.scenario.advance(30)  # dtle writes its positions again
            w.until(lambda: "job1" in w.last.positions, "job1's position written again")
            assert sim.scenario.orphan_job not in w.last.positions  # exactly what the new Consul holds
            assert w.last.nomad.ok and w.last.consul.ok
        finally:
            w.poller.stop()


def test_a_resume_at_an_index_the_server_never_reached_ends_equal_to_a_fresh_read(tmp_path):
    with SimCluster(dialect="1.1", seed=1, frozen=True) as sim:
        w = Watcher(sim, tmp_path)
        w.poller.start()
        try:
            live(w)
            touch_dest(sim, "job1", "failed")  # one frame in Nomad's buffer
            w.until(lambda: w.row("job1").dest.failed == 1, "job1's dest failed")
            sim.reset_requests()

            def far_ahead() -> None:
                w.poller.events.last_index = 10**9

            w.poller.call_soon(far_ahead)
            w.until(lambda: w.poller.events.last_index == 10**9, "the stream's index far ahead")
            sim.drop_event_streams()
            w.until(lambda: {e[2] for e in w.list_reads()} == set(LISTS), "the lists read again")
            w.until(lambda: held(w) == truth(sim) and stream_state(w) == "live", "equal to a fresh read, live")
            assert w.last.notice == ""  # the indexes did not go back: no reset to report
        finally:
            w.poller.stop()


def test_a_resume_from_an_index_dropped_from_the_buffer_reads_the_lists_again(tmp_path):
    with SimCluster(dialect="1.1", seed=1, frozen=True) as sim:
        sim.state.event_buffer_size = 3
        w = Watcher(sim, tmp_path)
        w.poller.start()
        try:
            live(w)
            touch_dest(sim, "job1", "failed")
            w.until(lambda: w.row("job1").dest.failed == 1, "job1's dest failed")
            # Latency drops the stream and holds its reconnection back while six changes happen: the
            # buffer keeps three, so the stream alone would never tell of the first three.
            sim.nomad_faults.latency = 1.0
            changed = ["job10", "mig-[b]ops", "orders-sync", "reports-incr", "billing-migrate", "inventory-copy"]
            for job_id in changed:
                touch_dest(sim, job_id, "failed")
            sim.nomad_faults.latency = 0.0
            w.until(lambda: all(w.row(j).dest.failed == 1 for j in changed), "every change shown")
            assert w.last.notice == ""
        finally:
            w.poller.stop()


def test_a_reset_is_seen_after_a_long_time_on_the_stream(tmp_path, fast_backoff):
    """The lists rest while the stream is live: their last answers are old. The new cluster's indexes
    are above those answers but below what the stream brought: still a reset (the demo's case)."""
    with SimCluster(dialect="1.1", seed=1, frozen=True) as sim:
        w = Watcher(sim, tmp_path)
        w.poller.start()
        try:
            live(w)
            first_read = index_of(sim, "/v1/allocations")
            for _ in range(60):  # the old cluster moves on, by the stream only
                touch_dest(sim, "job1")
            w.until(lambda: w.poller.events.last_index >= first_read + 60, "the stream followed")
            streamed = w.poller.events.last_index
            with sim.state.lock:  # nothing is answered until the new cluster has moved past first_read
                sim.restart_nomad()
                while sim.state.table_index("allocs") <= first_read + 10:
                    touch_dest(sim, "job10")
            assert first_read < index_of(sim, "/v1/allocations") < streamed
            w.until(lambda: held(w) == truth(sim) and "state was reset" in w.last.notice,
                    "exactly the restarted cluster's objects")
        finally:
            w.poller.stop()


def test_consul_reaping_a_deleted_keys_tombstone_is_not_a_reset(tmp_path, fast_backoff):
    """The key with the highest ModifyIndex under dtle/ deleted (a Gtid reset), then its tombstone reaped:
    the prefix's index goes back, which the poller follows by reading again, but it is no reset: no
    notice, and the other jobs' rates are kept."""
    with SimCluster(dialect="1.1", seed=1, frozen=True) as sim:
        w = Watcher(sim, tmp_path)
        w.poller.start()
        went_back = []
        watch = w.poller.positions.kv_index["dtle/"]  # the read of dtle/ (dtleJobList/ is read apart)
        original = watch.went_back
        watch.went_back = lambda before, after: (went_back.append((before, after)), original(before, after))
        try:
            live(w)
            newest = max(sim.kv.list("dtle/"), key=lambda e: e.modify_index)
            job = newest.key.split("/")[1]
            # What a Gtid reset deletes (dtle.md §2): the job's tree, with the slash, and its list entry.
            loopback.delete(f"{sim.consul_addr}/v1/kv/dtle/{job}/", params={"recurse": "true"}).raise_for_status()
            loopback.delete(f"{sim.consul_addr}/v1/kv/dtleJobList/{job}").raise_for_status()
            w.until(lambda: job not in w.last.positions, f"{job}'s position gone")
            kept = sorted(j for j in w.last.positions if w.poller.positions.progress.get(j) is not None)
            assert kept, "some other job with a rate"
            before = sim.kv.query_index("dtle/", prefix=True)
            sim.kv.reap_tombstones()
            assert sim.kv.query_index("dtle/", prefix=True) < before  # what a client must follow back
            w.poller.refresh_now()
            w.until(lambda: went_back, "the poller saw the index go back")
            w.until(lambda: w.poller.feeds["kv"].read_index < before, "read again from the lower index")
            generation = w.last.generation
            w.until(lambda: w.last.generation > generation, "a snapshot built after that answer")
            assert w.last.notice == "" and set(kept) <= set(w.last.positions)
            assert all(w.poller.positions.progress.get(j) is not None for j in kept)  # rates not thrown away
        finally:
            w.poller.stop()
