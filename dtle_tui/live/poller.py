"""The background refresh: the only code that calls Nomad and Consul for display.

It runs its own asyncio loop in a daemon thread, so JSON decoding and parsing of a large cluster never
stall the UI's event loop. Each endpoint has exactly one loop ("feed"), so there is never more than one
request in flight per endpoint, and a slow answer is never cancelled by a timer tick (feeds.py).

Nomad's lists (/v1/jobs, /v1/allocations, /v1/nodes) are read in full once, decoded element by element
as they arrive and slimmed at once (nothing keeps a whole answer). Then, on Nomad 1.1, one event stream
brings each change as it happens and the list feeds rest (eventfeed.py); on 0.11, or wherever the
stream is not available, the list feeds use blocking queries (index/wait, docs/reference/nomad-api.md §3): a change
comes back as soon as it happens and an idle cluster costs one request per feed per `wait`. When a
server does not block (no index header, or it answers at once with the same index), a feed falls back
to the `--refresh` interval. Failures back off exponentially, capped at 30 s; `refresh_now()` (ctrl+r)
re-reads every list and restarts the stream.

What arrives goes into the store (store.py), which records which jobs changed; a snapshot then
rebuilds only those jobs' rows (rowbook.RowBook). Per refresh the number of requests is fixed whatever
the number of jobs: none for a change that comes by the stream; on ctrl+r /v1/jobs, /v1/allocations,
/v1/nodes, the agent, the stream, and one recursive Consul read of the prefix `dtle` (which covers
`dtle/<job>/…` and `dtleJobList/<job>` alike), plus what an open detail screen needs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Coroutine, Optional

from dtle_tui.api.jsonlist import ElementMemo
from dtle_tui.api.nomad import Indexed, NomadClient
from dtle_tui.config.settings import Settings
from dtle_tui.live.eventfeed import EventFeed
from dtle_tui.live.feedhealth import service_state
from dtle_tui.live.feeds import Feed, Fetch
from dtle_tui.live.kvindex import KvIndexWatch
from dtle_tui.live.notice import Notice
from dtle_tui.live.open_screens import OpenScreens
from dtle_tui.live.rowbook import RowBook
from dtle_tui.live.snapshot import FeedState, Snapshot, build_detail, find_orphans, progress_view
from dtle_tui.live.store import NomadStore
from dtle_tui.model.allocations import Allocation, slim_allocation
from dtle_tui.model.gtid import GtidProgress, positions_from_kv
from dtle_tui.model.jobs import JobStub, parse_job_stubs

if TYPE_CHECKING:
    from dtle_tui.api.consul_kv import ConsulKV
    from dtle_tui.live.monitor import DtleMonitor
    from dtle_tui.live.troubleshoot import Troubleshoot

log = logging.getLogger(__name__)

PUBLISH_DELAY_S = 0.15
# With `defer_consul`: Consul and the feeds the first paint does not need start at the latest this long
# after the poller, should no first paint (an unreachable Nomad) or write action ask for them sooner.
CONSUL_START_LATEST_S = 2.0


class Poller(OpenScreens):
    def __init__(self, settings: Settings, on_update: Callable[[Snapshot], None], defer_consul: bool = False):
        self.settings = settings
        # First paint (issue 15): python-consul2 pulls in requests and urllib3, ~40 ms of imports that
        # competed with Textual's for the GIL. Deferred, Consul starts once the first rows are painted
        # (`first_paint_done`), or after CONSUL_START_LATEST_S.
        self.defer_consul = defer_consul
        self.on_update = on_update
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run_loop, name="dtle-tui-poller", daemon=True)
        self.nomad: Optional[NomadClient] = None
        self.consul: Optional[ConsulKV] = None
        self.feeds: dict[str, Feed] = {}
        self.events: Optional[EventFeed] = None
        self.store = NomadStore()
        self.snapshot = Snapshot(namespace=settings.nomad.namespace or "default", region=settings.nomad.region or "")
        self._rows = RowBook()
        self._positions: dict = {}
        self._positions_changed = False
        self._progress: dict[str, GtidProgress] = {}
        self._orphans: tuple = ()
        self._orphans_key: Any = None
        self._orphans_positions: Optional[dict] = None
        self._nodes: tuple = ()
        self._detail_job: Optional[str] = None
        self._detail_allocs: Optional[list] = None
        self._shown_rows = False
        self._job: Any = None
        self._job_error: Optional[str] = None
        self._alloc_id: Optional[str] = None
        self._alloc: Any = None
        self._alloc_error: Optional[str] = None
        self.troubles: Optional[Troubleshoot] = None  # evaluations and task stats of the open screens
        self._rest_started = False  # _start_rest ran (after the first paint)
        self._dirty = False
        self._generation = 0
        self._stopped = False
        self._start_errors: dict[str, FeedState] = {}  # service -> why its feeds could not start
        self._stall_timer: Optional[asyncio.TimerHandle] = None
        self._stall_fired = 0.0
        self.monitor: Optional[DtleMonitor] = None  # dtle's own progress (live/monitor.py), when dtle_api is set
        self.notice = Notice(self.loop, self.changed)  # said once on the status line (a reset)
        self._kv_index = KvIndexWatch()

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self.thread.start()
        self.call_soon(self._starting("Nomad", self._start_feeds))

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.thread.is_alive():
            fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop)
            try:
                fut.result(timeout=3)
            except Exception:  # shutting down: nothing useful to do with a late error
                pass
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=3)

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    async def _shutdown(self) -> None:
        if self.events is not None:
            self.events.stop()
        tasks = [feed.task for feed in self.feeds.values() if feed.task]
        tasks += [self.events.task] if self.events is not None and self.events.task else []
        tasks += [self.monitor.task] if self.monitor is not None and self.monitor.task else []
        for task in tasks:
            task.cancel()
        # Let them finish cancelling before the loop stops: a task destroyed mid-cancel is reported on stderr
        # ("Task was destroyed but it is pending!"), after the one-line error of a start that was refused.
        await asyncio.gather(*tasks, return_exceptions=True)
        for client in (self.nomad, self.consul):
            if client is not None:
                try:
                    await client.aclose()
                except Exception:
                    pass

    def call_soon(self, fn: Callable[[], Any]) -> None:
        self.loop.call_soon_threadsafe(fn)

    def submit(self, coro: Coroutine) -> concurrent.futures.Future:
        """Run a coroutine (an action) on the poller's loop, with its clients; thread-safe."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def _start_feeds(self) -> None:
        """The feeds the first paint needs: the job and allocation lists. The rest (`_start_rest`) and
        Consul follow once the app has painted them (`first_paint_done`), so that their requests, answers
        and imports do not compete with that paint (issue 15); at the latest after CONSUL_START_LATEST_S,
        and at once without `defer_consul`."""
        s = self.settings
        self.nomad = NomadClient(s.nomad, timeout=s.timeout)
        nomad = self.nomad
        self.events = EventFeed(nomad, self.store, list_feeds=self.list_feeds, changed=self.changed,
                                allocation_item=self.allocation_item, timeout=s.timeout)
        # Each list's previous answer, element by element: what comes back unchanged is not decoded again
        # (on 0.11 every change re-reads both lists whole).
        jobs_memo, allocs_memo = ElementMemo(), ElementMemo()
        self._add_feed("jobs", "Nomad", lambda i, w: nomad.jobs(index=i, wait=w, each=self.job_item, memo=jobs_memo),
                       self._on_jobs, follows_stream=True)
        self._add_feed("allocations", "Nomad",
                       lambda i, w: nomad.allocations(index=i, wait=w, each=self.allocation_item, memo=allocs_memo),
                       self._on_allocs, follows_stream=True)
        if self.defer_consul:
            self.loop.call_later(CONSUL_START_LATEST_S, self._after_first_paint)
        else:
            self.loop.call_soon(self._after_first_paint)

    def first_paint_done(self) -> None:
        """Thread-safe: the app has painted the first rows (or Nomad's answer with none): start the rest."""
        self.call_soon(self._after_first_paint)

    def _after_first_paint(self) -> None:
        self._starting("Nomad", self._start_rest)()
        self._starting("Consul", self._start_consul)()

    def _start_rest(self) -> None:
        """The agent, the nodes, the event stream (which waits for every list to be read), dtle's monitor
        and the open screens' evaluations and stats. Once."""
        if self._rest_started or self._stopped or self.nomad is None or self.events is None:
            return
        self._rest_started = True
        # Imported here, not at the top: the job list's first paint needs none of it.
        from dtle_tui.live import troubleshoot

        s, nomad = self.settings, self.nomad
        self._add_feed("agent", "Nomad", self._fetch_agent, self._on_agent)
        self._add_feed("nodes", "Nomad", lambda i, w: nomad.nodes(index=i, wait=w), self._on_nodes,
                       follows_stream=True)
        self.events.task = self.loop.create_task(self.events.run())
        if s.dtle_api:
            from dtle_tui.live.monitor import for_poller

            self.monitor = for_poller(self, s, nomad)
            self.monitor.watch_detail(self._detail_job)  # what the screens asked for before now
            self.monitor.watch_rows(self.dtle_rows)
            self.monitor.task = self.loop.create_task(self.monitor.run())
        self.troubles = troubleshoot.Troubleshoot(nomad, self.events, self.feeds, self.loop, self.changed,
                                                  self._stats_targets)
        self.troubles.watch_job(self._detail_job)  # a screen opened before now
        self.troubles.retarget()

    def _starting(self, service: str, start: Callable[[], None]) -> Callable[[], None]:
        """`start` guarded: a failure to start a service's feeds (an import error, a client that cannot be
        built) becomes that service's error on the status line and in the log, instead of a callback
        error asyncio logs while the screen says "Connecting…" forever."""

        def run() -> None:
            try:
                start()
            except Exception as exc:
                log.exception("starting the %s feeds failed", service)
                why = " ".join(f"{type(exc).__name__}: {exc}".split())  # one line
                self._start_errors[service] = FeedState(error=f"dtle-tui could not start: {why}",
                                                        stale_since=time.time(), failures=1)
                self.changed()

        return run

    def _start_consul(self) -> None:
        if self.consul is not None or self._stopped:
            return
        # Imported here, on the poller's thread: python-consul2 brings requests and urllib3 (~40 ms),
        # which the first paint of the job list does not need.
        from dtle_tui.api.consul_kv import ConsulKV

        s = self.settings
        self.consul = consul = ConsulKV(s.consul, timeout=s.timeout)
        self._add_feed("kv", "Consul", lambda i, w: consul.get_prefix("dtle", index=i, wait=w), self._on_kv)

    def _add_feed(self, name: str, service: str, fetch: Fetch, on_data: Callable[[Any], None],
                  follows_stream: bool = False) -> Feed:
        feed = Feed(name, service, fetch, on_data, changed=self.changed, refresh_s=self.settings.refresh,
                    stream=self.events if follows_stream else None, follows_stream=follows_stream,
                    on_reset=self._index_went_back)
        self.feeds[name] = feed
        feed.task = self.loop.create_task(feed.run())
        return feed

    def _drop_feed(self, name: str) -> None:
        feed = self.feeds.pop(name, None)
        if feed and feed.task:
            feed.task.cancel()

    # ---- a server whose state was reset (issue 16) ------------------------------------------------
    def _index_went_back(self, feed: Feed, before: int, after: int) -> None:
        """One query's index went below what it returned before. Nomad's state was reset: what is held from
        it is dropped before this answer is used, and everything is read again. Consul's answer tells
        whether it was a reset or a deleted key's tombstone reaped (kvindex.py)."""
        log.warning("%s: %s index went back from %d to %d", feed.service, feed.name, before, after)
        if feed.service == "Consul":  # a reset, or a deleted key's tombstone reaped: the answer tells (kvindex.py)
            self._kv_index.went_back(before, after)
            return
        self.store.clear()
        self._detail_allocs, self._job, self._alloc = None, None, None
        for other in self.feeds.values():
            if other.service == feed.service and other is not feed:
                other.forget()
        if self.events is not None:
            self.events.start_over()
        self.notice.say(f"Nomad's state was reset ({feed.name} index {before} → {after}): everything re-read")

    # ---- intents from the UI (thread-safe) ---------------------------------------------------
    def refresh_now(self) -> None:
        self.call_soon(self._kick_all)

    def _kick_all(self) -> None:
        for feed in self.feeds.values():
            feed.kick()
        if self.events is not None:
            self.events.kick()

    def list_feeds(self) -> list[Feed]:
        return [f for f in self.feeds.values() if f.follows_stream]

    # ---- fetchers that turn "not found" into data --------------------------------------------
    async def _fetch_agent(self, index: int, wait: Optional[str]) -> Indexed:
        assert self.nomad is not None
        if index:  # the agent does not change while we run: re-read only after an error
            await asyncio.sleep(3600)
        return Indexed(await self.nomad.agent_self(), 1)

    # ---- data handlers (poller thread) --------------------------------------------------------
    def _on_agent(self, value: Any) -> None:
        config = value.get("config") if isinstance(value, dict) else None
        config = config if isinstance(config, dict) else {}
        version = config.get("Version")
        if isinstance(version, dict):
            version = version.get("Version", "")
        self._agent = (str(version or ""), str(config.get("Region") or ""))

    # Elements of the list answers, turned into what is kept as each is decoded (nomad.py `each`).
    def job_item(self, d: Any) -> Optional[JobStub]:
        # Unchanged entries come back as the same objects: cheap to parse, cheap to diff.
        stubs = parse_job_stubs([d], reuse=self.store.jobs) if isinstance(d, dict) else ()
        return stubs[0] if stubs else None

    def allocation_item(self, d: Any) -> Optional[Allocation]:
        # Only what the Jobs screen derives from is kept (statuses, stage events; an open Job detail
        # reads its job's allocations whole). An unchanged allocation (same ModifyIndex: every client
        # update bumps it) is the same object as before, so only changed ones are slimmed.
        if not isinstance(d, dict):
            return None
        held = self.store.held_allocation(d.get("ID"))
        if held is not None and held.modify_index and held.modify_index == d.get("ModifyIndex"):
            return held
        return slim_allocation(d)

    def _on_jobs(self, value: Any) -> None:
        self.store.load_jobs([s for s in value if s is not None], self.feeds["jobs"].answer_index)

    def _on_allocs(self, value: Any) -> None:
        self.store.load_allocations([a for a in value if a is not None], self.feeds["allocations"].answer_index)

    def _on_nodes(self, value: Any) -> None:
        from dtle_tui.model.nodes import parse_nodes  # after the first paint, like the feed (_start_rest)

        self.store.load_nodes(parse_nodes(value), self.feeds["nodes"].answer_index)

    def _on_kv(self, value: Any) -> None:
        reset = self._kv_index.answered(value, self.feeds["kv"].answer_index)
        if reset is not None:
            # Positions are whole in every answer; only the samples from before would make a false rate
            # or a false STALLED mark.
            self._progress.clear()
            self.notice.say(reset)
        positions = positions_from_kv(value, reuse=self._positions)
        now = time.time()
        for job_id, pos in positions.items():
            if pos.gtid is None:
                continue
            prog = self._progress.get(job_id)
            if prog is None:
                prog = self._progress[job_id] = GtidProgress()
            prog.feed(now, pos.gtid.transactions)
        if positions != self._positions:
            self._positions = positions
        self._positions_changed = True  # rates move with every answer, even when positions are equal

    # ---- snapshot ------------------------------------------------------------------------------
    def changed(self, delay: Optional[float] = None) -> None:
        """Coalesce a burst of feed answers into one snapshot."""
        if not self._dirty:
            self._dirty = True
            # The jobs and allocations feeds answer the same change some tens of ms apart: one snapshot.
            # The event stream sends a transaction's events in one line, so it needs less (`delay`).
            # Until the job list has been shown once, show whatever arrived at once (first paint).
            wait = PUBLISH_DELAY_S if delay is None else delay
            self.loop.call_later(wait if self._shown_rows else 0.0, self._publish)

    def _feed_state(self, service: str) -> FeedState:
        if service in self._start_errors:
            return self._start_errors[service]
        return service_state(service, self.feeds, self.events)

    def _publish(self) -> None:
        self._dirty = False
        try:
            snapshot = self._build()
        except Exception:  # never let a bug in derivation kill the poller
            log.exception("building the snapshot failed")
            return
        self.snapshot = snapshot
        self._shown_rows = self._shown_rows or bool(snapshot.rows)
        self._arm_stall_check()
        self.on_update(snapshot)

    def _arm_stall_check(self) -> None:
        """Rebuild when the next job crosses the stall threshold: on a quiet cluster no feed answers then,
        and its STALLED mark (and alert) would wait for the next change of anything."""
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
        due = self._rows.stall_due
        if due != float("inf") and due != self._stall_fired:  # once per due: never a rebuild loop
            self._stall_timer = self.loop.call_later(max(0.0, due - time.time()) + 0.05, self._stall_check, due)

    def _stall_check(self, due: float) -> None:
        self._stall_timer, self._stall_fired = None, due
        self.changed()

    def _build(self) -> Snapshot:
        nomad_state = self._feed_state("Nomad")
        consul_state = self._feed_state("Consul")
        consul_ok = consul_state.error is None
        now = time.time()
        store = self.store
        changed, reordered = store.take_changes()
        positions = self._positions if consul_ok else {}
        rows = self._rows.update(store.jobs, store.allocations_of, changed, reordered, positions, self._progress,
                                 now, self.settings.stall_threshold_s, consul_ok, self._positions_changed)
        self._positions_changed = False
        if store.nodes_changed:
            store.nodes_changed = False
            self._nodes = tuple(store.nodes.values())
        detail = None
        if self._detail_job is not None:
            allocs = self._detail_allocs if self._detail_allocs is not None else store.allocations_of(self._detail_job)
            detail = build_detail(self._detail_job, self._job, allocs, self._job_error,
                                  progress_view(self._progress.get(self._detail_job), now))
        # Orphans compare every job with every position: only worth redoing when one of those moved.
        # Not before Consul has answered once (it starts after the first paint): every running job would
        # read as "without position" until then.
        consul_read = consul_ok and consul_state.ok_at is not None
        orphans_key = (consul_read, bool(store.jobs))
        if (reordered or self._rows.running_changed or orphans_key != self._orphans_key
                or self._orphans_positions is not self._positions):
            self._orphans_positions = self._positions
            self._rows.running_changed = False
            self._orphans_key = orphans_key
            self._orphans = find_orphans(set(store.jobs), self._positions, sorted(self._rows.running)) \
                if (consul_read and store.jobs) else ()
        version, region = getattr(self, "_agent", ("", ""))
        self._generation += 1
        return Snapshot(
            generation=self._generation,
            rows=rows,
            nodes=self._nodes,
            positions=positions,
            orphans=self._orphans,
            nomad=nomad_state,
            consul=consul_state,
            nomad_version=version,
            region=self.settings.nomad.region or region,
            namespace=self.settings.nomad.namespace or "default",
            detail=detail,
            allocation=self._alloc,
            allocation_error=self._alloc_error,
            consul_enabled=consul_ok,
            dtle=self.monitor.view() if self.monitor is not None else {},
            dtle_api=self.settings.dtle_api or "",
            troubles=self.troubles.view() if self.troubles is not None else None,
            notice=self.notice.text,
            nodes_state=self.feeds["nodes"].state if "nodes" in self.feeds else FeedState(),
        )
