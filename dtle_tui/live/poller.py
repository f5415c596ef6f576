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
rebuilds only those jobs' rows (rowbook.RowBook). Consul's answers go to `Positions` (positions.py); what
an open screen follows is `OpenJob` / `OpenAllocation` (openjob.py), each owning its feeds; all feeds run
in one `Feeds` (feeds.py), which the status line, ctrl+r and shutdown read.

Per refresh the number of requests is fixed whatever the number of jobs: none for a change that comes
by the stream; on ctrl+r /v1/jobs, /v1/allocations, /v1/nodes, the agent, the stream, and two recursive
Consul reads, of `dtle/` and `dtleJobList/` (never the bare prefix `dtle`, which also holds `dtleUser/`
and `dtleRole/`), plus what an open detail screen needs.
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
from dtle_tui.live.feeds import Feed, Feeds
from dtle_tui.live.gtidmemo import GtidMemoFile
from dtle_tui.live.notice import Notice
from dtle_tui.live.openjob import OpenAllocation, OpenJob
from dtle_tui.live.opennode import OpenNode
from dtle_tui.live.placement import Placements
from dtle_tui.live.positions import KV_FEEDS, Positions
from dtle_tui.live.rowbook import RowBook, row_allocation
from dtle_tui.live.snapshot import FeedState, OpenView, Snapshot
from dtle_tui.live.store import NomadStore
from dtle_tui.model.allocations import Allocation
from dtle_tui.model.jobs import JobStub, parse_job_stubs
from dtle_tui.model.nodes import parse_nodes

if TYPE_CHECKING:
    from dtle_tui.api.consul_kv import ConsulKV
    from dtle_tui.live.monitor import DtleMonitor
    from dtle_tui.live.troubleshoot import Troubleshoot

log = logging.getLogger(__name__)

PUBLISH_DELAY_S = 0.15
# With `defer_consul`: Consul and the feeds the first paint does not need start at the latest this long
# after the poller, should no first paint (an unreachable Nomad) ask for them sooner.
CONSUL_START_LATEST_S = 2.0


class Poller:
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
        self.feeds = Feeds(self.loop, self.changed, settings.refresh, on_reset=self._index_went_back)
        self.events: Optional[EventFeed] = None
        self.store = NomadStore()
        self.notice = Notice(self.loop, self.changed)  # said once on the status line (a reset)
        # Consul's side: positions, Gtid rates, orphans, and since when each Gtid stands still (remembered)
        self.positions = Positions(self.notice, GtidMemoFile.for_settings(settings))
        self.open_job = OpenJob(self.feeds, self.store, settings.refresh)  # Job detail's
        self.open_alloc = OpenAllocation(self.feeds)  # Allocation's
        self.open_node = OpenNode(self.feeds, settings.refresh)  # Node detail's
        self.snapshot = Snapshot(namespace=settings.nomad.namespace or "default", region=settings.nomad.region or "")
        self._rows = RowBook()
        # Why the jobs that cannot be placed wait: their evaluations, read for those jobs only.
        self.placements = Placements(self.loop, lambda: self.nomad, self._job_changed)
        self._nodes: tuple = ()
        self._agent = ("", "")  # Nomad's version and region, from /v1/agent/self
        self._shown_rows = False
        self.troubles: Optional[Troubleshoot] = None  # evaluations and task stats of the open screens
        self.monitor: Optional[DtleMonitor] = None  # dtle's own progress (live/monitor.py), when dtle_api is set
        # The Jobs rows in view, as last told: the monitor starts after the first paint and takes them then.
        self.dtle_rows: tuple = ()
        self._rest_started = False  # _start_rest ran (after the first paint)
        self._dirty = False
        self._generation = 0
        self._stopped = False
        self._start_errors: dict[str, FeedState] = {}  # service -> why its feeds could not start
        self._stall_timer: Optional[asyncio.TimerHandle] = None
        self._stall_fired = 0.0

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
        # Every task of this loop, not only the feeds, stream and monitor it lists: a feed stopped just before
        # (cancelled, not yet finished), one a timer started meanwhile, a placement read or a log tail.
        # Let them finish cancelling before the loop stops: a task destroyed mid-cancel is reported on stderr
        # ("Task was destroyed but it is pending!", or its clean-up fails with "Event loop is closed").
        tasks = [t for t in asyncio.all_tasks(self.loop) if t is not asyncio.current_task() and not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.positions.close()
        for client in (self.nomad, self.consul):
            if client is not None:
                try:
                    await client.aclose()
                except Exception:
                    pass

    def call_soon(self, fn: Callable[[], Any]) -> None:
        self.loop.call_soon_threadsafe(fn)

    def submit(self, coro: Coroutine) -> concurrent.futures.Future:
        """Run a coroutine on the poller's loop, with its clients (a log tail); thread-safe."""
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
        self.feeds.start("jobs", "Nomad", lambda i, w: nomad.jobs(index=i, wait=w, each=self.job_item, memo=jobs_memo),
                         self._on_jobs, stream=self.events, follows_stream=True)
        self.feeds.start("allocations", "Nomad",
                         lambda i, w: nomad.allocations(index=i, wait=w, each=self.allocation_item, memo=allocs_memo),
                         self._on_allocs, stream=self.events, follows_stream=True)
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
        # Imported now, on the poller's thread once the job list is painted, like python-consul2 below
        # (`_start_consul`): dtle's monitor and troubleshoot bring their models and dtle's client, some ms
        # the first paint does not wait for (issue 15). The live layer's only imports not at the top.
        from dtle_tui.live.monitor import for_open_job
        from dtle_tui.live.troubleshoot import Troubleshoot

        s, nomad = self.settings, self.nomad
        self.feeds.start("agent", "Nomad", self._fetch_agent, self._on_agent)
        self.feeds.start("nodes", "Nomad", lambda i, w: nomad.nodes(index=i, wait=w), self._on_nodes,
                         stream=self.events, follows_stream=True)
        self.events.task = self.loop.create_task(self.events.run())
        if s.dtle_api:
            self.monitor = for_open_job(s, nomad, self.changed, self.store, self.open_job, self.snapshot_row)
            self.monitor.watch_rows(self.dtle_rows)  # what the Jobs screen told before now
            self.monitor.task = self.loop.create_task(self.monitor.run())
        self.troubles = Troubleshoot(nomad, self.events, self.feeds, self.open_job, self.open_alloc)

    def snapshot_row(self, job_id: str) -> Any:
        return self.snapshot.row(job_id)

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
        # Imported now, on the poller's thread after the first paint: python-consul2 brings requests and
        # urllib3, tens of ms the job list's first paint does not wait for (issue 15; bench/RESULTS.md).
        from dtle_tui.api.consul_kv import ConsulKV

        s = self.settings
        self.consul = consul = ConsulKV(s.consul, timeout=s.timeout)
        # Two watches, `dtle/` and `dtleJobList/`: the prefix `dtle` alone would also read `dtleUser/`, where
        # dtle keeps passwords in plain text (issue 22 item 5); a token scoped to these two is enough.
        for name, prefix in KV_FEEDS.items():
            self.feeds.start(name, "Consul", lambda i, w, p=prefix: consul.get_prefix(p, index=i, wait=w),
                             lambda value, n=name, p=prefix: self._kv_answered(n, p, value))

    def _kv_answered(self, name: str, prefix: str, value: Any) -> None:
        if self.positions.answered(value, self.feeds[name].answer_index, prefix):
            # Consul's state was reset. The other prefix's query may be held on an index of the old state,
            # which a reset Consul holds until its wait ends, keeping the old keys on screen: read it now.
            for other in KV_FEEDS:
                if other != name and other in self.feeds:
                    self.feeds[other].forget()

    # ---- a server whose state was reset (issue 16) ------------------------------------------------
    def _index_went_back(self, feed: Feed, before: int, after: int) -> None:
        """One query's index went below what it returned before. Nomad's state was reset: what is held from
        it is dropped before this answer is used, and everything is read again. Consul's answer tells
        whether it was a reset or a deleted key's tombstone reaped (positions.py)."""
        log.warning("%s: %s index went back from %d to %d", feed.service, feed.name, before, after)
        if feed.service == "Consul":
            self.positions.index_went_back(before, after, KV_FEEDS.get(feed.name, "dtle/"))
            return
        self.store.clear()
        self.placements.forget()
        self.open_job.reset()
        self.open_alloc.reset()
        self.open_node.reset()
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
        self.feeds.kick_all()
        if self.events is not None:
            self.events.kick()

    def watch_job(self, job_id: Optional[str]) -> None:
        """Job detail shows `job_id` now (None: no job is open)."""
        self.call_soon(lambda: self.open_job.open(job_id, self.nomad) and self.changed())

    def watch_allocation(self, alloc_id: Optional[str]) -> None:
        """Allocation shows `alloc_id` now (None: none is open)."""
        self.call_soon(lambda: self.open_alloc.open(alloc_id, self.nomad) and self.changed())

    def watch_node(self, node_id: Optional[str]) -> None:
        """Node detail shows `node_id` now (None: none is open)."""
        self.call_soon(lambda: self.open_node.open(node_id, self.nomad) and self.changed())

    def watch_dtle_rows(self, job_ids: tuple) -> None:
        """The running jobs of the Jobs rows in view, for dtle's progress column (nothing when it is off)."""
        self.call_soon(lambda: self._watch_dtle_rows(job_ids))

    def _watch_dtle_rows(self, job_ids: tuple) -> None:
        self.dtle_rows = job_ids
        if self.monitor is not None:
            self.monitor.watch_rows(job_ids)

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
        return row_allocation(d)

    def _on_jobs(self, value: Any) -> None:
        self.store.load_jobs([s for s in value if s is not None], self.feeds["jobs"].answer_index)

    def _on_allocs(self, value: Any) -> None:
        self.store.load_allocations([a for a in value if a is not None], self.feeds["allocations"].answer_index)

    def _on_nodes(self, value: Any) -> None:
        self.store.load_nodes(parse_nodes(value), self.feeds["nodes"].answer_index)

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

    def _job_changed(self, job_id: str) -> None:
        self.store.changed.add(job_id)
        self.changed()

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
        due = min(self._rows.stall_due, self.open_job.stall_due)  # a row's, or the open job's (Job detail)
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
        store, positions = self.store, self.positions
        changed, reordered = store.take_changes()
        self.placements.check(store.jobs, changed)
        by_job = positions.by_job if consul_ok else {}
        dtle = self.monitor.view() if self.monitor is not None else {}
        rows = self._rows.update(store.jobs, store.allocations_of, changed, reordered, by_job, positions.progress,
                                 now, self.settings.stall_threshold_s, consul_ok, positions.moved,
                                 store.nodes, self.placements.reason, dtle)
        positions.moved = False
        if store.nodes_changed:
            store.nodes_changed = False
            self._nodes = tuple(store.nodes.values())
        orphans = positions.orphans(store.jobs.keys(), self._rows.running, consul_ok and consul_state.ok_at is not None,
                                    reordered or self._rows.running_changed)
        self._rows.running_changed = False
        version, region = self._agent
        self._generation += 1
        open_id = self.open_job.job_id
        return Snapshot(
            generation=self._generation,
            rows=rows,
            nodes=self._nodes,
            positions=by_job,
            orphans=orphans,
            dtle=dtle,
            nomad_version=version,
            region=self.settings.nomad.region or region,
            namespace=self.settings.nomad.namespace or "default",
            nomad=nomad_state,
            consul=consul_state,
            nodes_state=self.feeds["nodes"].state if "nodes" in self.feeds else FeedState(),
            notice=self.notice.text,
            open=OpenView(
                job=self.open_job.view(positions.view(open_id, now), self.settings.stall_threshold_s,
                                       dtle.get(open_id) if open_id is not None else None, now),
                allocation=self.open_alloc.allocation,
                allocation_error=self.open_alloc.error,
                troubles=self.troubles.view() if self.troubles is not None else None,
                node=self.open_node.view(),
            ),
        )
