"""An index the event stream raised is not a reset (issue 22 item 7).

Live on Nomad 1.1.2, after `r` the status line twice said `Nomad's state was reset (allocations index 89 →
88)` with no restart of the agent: an Allocation event came at index N while a plain GET of
/v1/allocations answered at N-1. A reset is an answer's index going back below what that same query saw;
the simulator is made to answer exactly so (an Allocation event one index above the allocations table).
"""

from __future__ import annotations

from dtle_tui.sim import SimCluster
from tests.core.test_index_reset import fast_backoff, held, truth  # noqa: F401 - the fixture
from tests.core.test_poller_events import Watcher, live


def event_above_the_table(sim: SimCluster, job_id: str) -> int:
    """An AllocationUpdated event at index N while the allocations table stays at N-1 (1.1.2's shape)."""
    state = sim.state
    with state.lock:
        alloc = next(a for a in state.allocs.values() if a.job_id == job_id and a.task_group == "dest")
        index = state.next_index()
        state.alloc_event(alloc, "AllocationUpdated", index)
        with state.changed:
            state.changed.notify_all()
        return index


def write_and_read_again(w: Watcher, sim: SimCluster, feed) -> None:
    streamed = event_above_the_table(sim, "job1")
    w.until(lambda: feed.read_index >= streamed, "the stream brought the event")
    table = sim.state.table_index("allocs")
    assert table < streamed  # the plain GET below answers under the event's index
    answered = feed.state.ok_at
    w.poller.refresh_now()  # every list is read again with a plain GET (as after a write)
    w.until(lambda: feed.state.ok_at is not None and feed.state.ok_at > answered and feed.own_index == table,
            "the allocations read again, at the table's index")


def test_an_event_index_above_the_list_answer_is_no_reset(tmp_path, fast_backoff):  # noqa: F811
    with SimCluster(dialect="1.1", seed=1, frozen=True) as sim:
        w = Watcher(sim, tmp_path)
        w.poller.start()
        try:
            live(w)
            feed = w.poller.feeds["allocations"]
            for _ in range(2):
                write_and_read_again(w, sim, feed)
            w.until(lambda: held(w) == truth(sim), "what Nomad holds")
            assert "state was reset" not in w.last.notice
            assert all("state was reset" not in s.notice for s in w.snapshots)
        finally:
            w.poller.stop()
