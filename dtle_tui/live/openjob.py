"""What the open screens follow: the job open in Job detail, and the allocation open in Allocation.

Each is one object owning all of its open thing: its ID, what was read of it, the errors, the feeds that
read it (started when it opens, stopped when it closes, so an idle console reads nothing per job) and
their reset (Nomad's state was reset). The poller holds one of each and builds the snapshot's open record
from their views; dtle's monitor and troubleshoot are handed them and listen (`watchers`) for what opens.

Adding an endpoint to Job detail: its NomadClient method (api/nomad.py), its parser (model/), one feed
and one field here (`_start`, `_on_…`), one field of JobDetail (live/snapshot.py, filled in `view`), and
the widget that shows it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import TYPE_CHECKING, Callable, Optional

from dtle_tui.api.errors import ApiError
from dtle_tui.api.nomad import Indexed, NomadClient
from dtle_tui.live.feeds import Feeds, Fetch
from dtle_tui.live.snapshot import JobDetail, ProgressView, build_detail
from dtle_tui.live.store import NomadStore
from dtle_tui.model.allocations import Allocation, parse_allocation, parse_allocations
from dtle_tui.model.jobs import Job, JobStub, parse_job
from dtle_tui.model.stage import Stage, StageInfo, later_stage, stage_reached, stage_steps
from dtle_tui.model.stall import delay_evidence, stalled_since, unchanged_since
from dtle_tui.model.verdict import job_verdict
from dtle_tui.text import clock

if TYPE_CHECKING:
    from dtle_tui.model.monitor import JobProgress


def missing_is_none(read: Fetch, again_after_s: float = 0.0) -> Fetch:
    """`read` with a 404 turned into data: None, at index 0 (the feed then reads on its fallback interval,
    a repeated 404 only after `again_after_s`)."""

    async def fetch(index: int, wait: Optional[str]) -> Indexed:
        try:
            return await read(index, wait)
        except ApiError as exc:
            if exc.status != 404:
                raise
            if index and again_after_s:
                await asyncio.sleep(again_after_s)
            return Indexed(None, 0)

    return fetch


class OpenJob:
    """The job open in Job detail (`job_id` None: none is)."""

    FEEDS = ("job", "job_allocations")

    def __init__(self, feeds: Feeds, store: NomadStore, refresh_s: float) -> None:
        self.feeds = feeds
        self.store = store
        self.refresh_s = refresh_s  # how soon a purged job's 404 is asked again
        self.job_id: Optional[str] = None
        self.job: Optional[Job] = None  # GET /v1/job/<id>, parsed
        self.error: Optional[str] = None  # why there is no job (purged)
        self.allocations: Optional[list[Allocation]] = None  # GET /v1/job/<id>/allocations: whole, None until read
        self.watchers: list[Callable[[], None]] = []  # told when the job open, or its allocations, change
        # The stage the job has reached, folded over every reading: a crash loop pushes old stage events
        # out of the 10 a task keeps (model.stage.later_stage).
        self.reached = StageInfo()
        self.stall_due = float("inf")  # when the open job would turn STALLED if nothing moves meanwhile
        self._delay_then: tuple = (None, None)  # (dtle's frozen-since, the delay seen then): growing or not

    def open(self, job_id: Optional[str], nomad: Optional[NomadClient]) -> bool:
        """Follow `job_id` instead (None: nothing is open); False when it already was the one followed."""
        if job_id == self.job_id:
            return False
        for name in self.FEEDS:
            self.feeds.stop(name)
        self.job_id = job_id
        self.reset()
        if job_id is not None and nomad is not None:
            self._start(nomad, job_id)
        self._tell()
        return True

    def _start(self, nomad: NomadClient, job_id: str) -> None:
        # Purged, the job answers 404: the detail says so instead of going stale (asked again each refresh).
        self.feeds.start("job", "Nomad", missing_is_none(lambda i, w: nomad.job(job_id, index=i, wait=w),
                                                         self.refresh_s), self._on_job)
        self.feeds.start("job_allocations", "Nomad", lambda i, w: nomad.job_allocations(job_id, index=i, wait=w),
                         self._on_allocations)

    def reset(self) -> None:
        """Forget what was read (a new job, or Nomad's state reset): the feeds read it again."""
        self.job, self.error, self.allocations = None, None, None
        self.reached = StageInfo()
        self._delay_then = (None, None)

    def known_allocations(self) -> tuple[list[Allocation], bool]:
        """The open job's allocations and whether they are whole (task states, every event): its own read
        once it came, else the job list's slim ones."""
        if self.job_id is None:
            return [], False
        if self.allocations is not None:
            return list(self.allocations), True
        return self.store.allocations_of(self.job_id), False

    @property
    def kafka_dest(self) -> bool:
        """The open job writes to Kafka (its spec says so): dtle's figures read differently."""
        dest = self.job.endpoints.dest if self.job is not None else None
        return dest is not None and dest.kind == "kafka"

    def view(self, progress: Optional[ProgressView], stall_threshold_s: float = float("inf"),
             dtle: Optional[JobProgress] = None, now: Optional[float] = None) -> Optional[JobDetail]:
        """The open job as Job detail shows it: its verdict read first (model/verdict.py), the stage it
        reached, its timeline as transitions; STALLED once the Gtid has stood still for the threshold,
        counted from the remembered time (`progress.unchanged_since`) or dtle's own delay (`dtle`), or at
        once when dtle's delay says its queue is stuck (`dtle.queue_stuck_since`)."""
        if self.job_id is None:
            return None
        now = time.time() if now is None else now
        allocs, whole = self.known_allocations()
        detail = build_detail(self.job_id, self.job, allocs, self.error, progress)
        stub = self.store.jobs.get(self.job_id) or self._stub()
        if stub is None or not whole:
            # The job list's slim allocations keep the stage events but not the failures after them: a
            # verdict or a stage reached from them could say "full" of a dest that failed at once.
            return detail
        self.reached = later_stage(self.reached, stage_reached(allocs))
        since = unchanged_since(progress.unchanged_since if progress is not None else None,
                                self._dtle_evidence(dtle, now))
        incremental = self.reached.stage is Stage.INCREMENTAL
        stalled = stalled_since(since, stall_threshold_s, now) if incremental else None
        # A quiet job brings no new snapshot: the poller rebuilds when it would cross the threshold.
        self.stall_due = since + stall_threshold_s if incremental and since is not None and stalled is None \
            else float("inf")
        # The verdict's "restarting in 9m" by the console's clock (text.clock: frozen in the snapshots).
        # dtle's delay frozen over its own ticks: its queue is stuck, a stall known without the threshold.
        frozen = dtle.delay_s if incremental and dtle is not None and dtle.queue_stuck_since is not None else None
        verdict = job_verdict(stub, allocs, int(clock.now() * 1e9), nodes=self.store.nodes,
                              stalled_since_ns=int(stalled * 1e9) if stalled is not None else None,
                              stage=self.reached, frozen_delay_s=frozen)
        return dataclasses.replace(detail, verdict=verdict, steps=tuple(stage_steps(allocs)), stalled_since=stalled)

    def _dtle_evidence(self, dtle: Optional[JobProgress], now: float) -> Optional[float]:
        """Since when dtle's delay says the Gtid stands still (model.stall.delay_evidence)."""
        frozen = dtle.delay_frozen_since if dtle is not None else None
        if frozen is None:
            self._delay_then = (None, None)
            return None
        if self._delay_then[0] != frozen:
            self._delay_then = (frozen, dtle.delay_s)
        return delay_evidence(dtle.delay_s, frozen, self._delay_then[1], now)

    def _stub(self) -> Optional[JobStub]:
        """The job list's record of the open job; made from the job itself when the list has none yet."""
        job = self.job
        if job is None:
            return None
        return JobStub(id=job.id, name=job.name, namespace=job.namespace, type=job.type, status=job.status,
                       status_description=job.status_description, stop=job.stop)

    def _tell(self) -> None:
        for watcher in self.watchers:
            watcher()

    # ---- data handlers (poller thread) --------------------------------------------------------
    def _on_job(self, value: object) -> None:
        if value is None:
            self.job, self.error = None, f"job {self.job_id!r} not found in Nomad (purged?)"
        else:
            self.job, self.error = parse_job(value), None

    def _on_allocations(self, value: object) -> None:
        self.allocations = parse_allocations(value)
        self._tell()


class OpenAllocation:
    """The allocation open in Allocation (`alloc_id` None: none is)."""

    def __init__(self, feeds: Feeds) -> None:
        self.feeds = feeds
        self.alloc_id: Optional[str] = None
        self.allocation: Optional[Allocation] = None  # GET /v1/allocation/<id>, parsed
        self.error: Optional[str] = None  # why there is none (garbage-collected)
        self.watchers: list[Callable[[], None]] = []  # told when another allocation opens

    def open(self, alloc_id: Optional[str], nomad: Optional[NomadClient]) -> bool:
        if alloc_id == self.alloc_id:
            return False
        self.feeds.stop("allocation")
        self.alloc_id = alloc_id
        self.reset()
        if alloc_id is not None and nomad is not None:
            # Garbage-collected, it answers 404: the screen says so.
            self.feeds.start("allocation", "Nomad",
                             missing_is_none(lambda i, w: nomad.allocation(alloc_id, index=i, wait=w)),
                             self._on_allocation)
        for watcher in self.watchers:
            watcher()
        return True

    def reset(self) -> None:
        self.allocation, self.error = None, None

    def _on_allocation(self, value: object) -> None:
        if value is None:
            self.allocation, self.error = None, f"allocation {self.alloc_id} not found (garbage-collected?)"
        else:
            self.allocation, self.error = parse_allocation(value), None
