"""The open job's evaluations and the open screen's task stats: read only while such a screen is open.

- Evaluations (why a group is not placed): GET /v1/job/<id>/evaluations for the job open in Job detail,
  as a blocking query on 0.11. On 1.1, once read, the event stream's Evaluation topic (which the stream
  brings anyway) keeps them current: no request until the stream stops being live.
- Stats (memory and CPU per task): GET /v1/client/allocation/<id>/stats for the open allocation, or for
  the running allocations of the open job, one after the other (one request in flight), every
  STATS_INTERVAL_S. A failure (403, 404 after GC, a client that does not answer) becomes one line of
  reason for that allocation; it never marks Nomad stale on the status line.

Both loops are feeds of the poller's `Feeds` under their own service names, so ctrl+r re-reads them and
shutdown stops them. What is open comes from the open job and allocation (live/openjob.py), which tell
this when they change.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Optional

from dtle_tui.api.errors import ApiError
from dtle_tui.api.nomad import Indexed, NomadClient
from dtle_tui.live.eventfeed import LIVE, EventFeed
from dtle_tui.live.feeds import Feeds
from dtle_tui.live.openjob import OpenAllocation, OpenJob
from dtle_tui.live.troubleview import AllocStats, TroubleView
from dtle_tui.model.evaluations import parse_evaluations
from dtle_tui.model.stats import parse_alloc_stats
from dtle_tui.model.wire import ParseError

STATS_INTERVAL_S = 3.0  # module constants: tests patch them
STREAM_REST_S = 300.0  # with the stream live, re-read the evaluations at least this often
HISTORY = 30
EVALS, STATS = "evaluations", "stats"


def stats_reason(exc: ApiError) -> str:
    """One line saying why there are no numbers, in the operator's words."""
    if exc.status == 403:
        return f"stats unavailable: permission denied ({exc.one_line()})"
    if exc.status == 404:
        return "stats unavailable: the client no longer has this allocation (garbage-collected)"
    return f"stats unavailable: the client node did not answer ({exc.one_line()})"


class Troubleshoot:
    def __init__(self, nomad: NomadClient, events: Optional[EventFeed], feeds: Feeds, open_job: OpenJob,
                 open_alloc: OpenAllocation) -> None:
        self.nomad, self.events, self.feeds = nomad, events, feeds
        self.open_job, self.open_alloc = open_job, open_alloc
        self.job_id: Optional[str] = None
        self._raw: dict[str, dict] = {}
        self._evals: Optional[tuple] = None
        self._evals_error: Optional[str] = None
        self._nudge = asyncio.Event()
        self._stream_index = 0
        self._version = self._returned = 0  # stream changes merged / handed to the feed (no lost wake-up)
        self._stats: dict[str, AllocStats] = {}
        self._history: dict[tuple, deque] = {}
        if events is not None:
            events.on_evaluation = self.on_evaluation
        open_job.watchers.append(self._job_changed)
        open_alloc.watchers.append(self.retarget)
        self._job_changed()  # a screen opened before this started

    def targets(self) -> list:
        """Allocations whose task stats are read: the open allocation, else the open job's running ones."""
        if self.open_alloc.alloc_id is not None:
            return [self.open_alloc.alloc_id]
        allocs, _whole = self.open_job.known_allocations()
        return sorted(a.id for a in allocs if a.client_status == "running")

    def _job_changed(self) -> None:
        self.watch_job(self.open_job.job_id)
        self.retarget()

    # ---- what the open screens need (poller thread) ------------------------------------------------
    def watch_job(self, job_id: Optional[str]) -> None:
        if job_id == self.job_id:
            return
        self._drop(EVALS)
        self.job_id, self._raw, self._evals, self._evals_error = job_id, {}, None, None
        if job_id is not None:
            self._add(EVALS, self._fetch_evals(job_id), self._on_evals, refresh_s=5.0)

    def retarget(self) -> None:
        """The open allocation or the open job's allocations changed: start or stop the stats loop."""
        wanted = self.targets()
        self._stats = {k: v for k, v in self._stats.items() if k in wanted}
        self._history = {k: v for k, v in self._history.items() if k[0] in wanted}
        if wanted and STATS not in self.feeds:
            self._add(STATS, self._fetch_stats, self._on_stats, refresh_s=STATS_INTERVAL_S)
        elif not wanted:
            self._drop(STATS)

    def view(self) -> TroubleView:
        return TroubleView(self.job_id, self._evals, self._evals_error, dict(self._stats))

    def on_evaluation(self, payload: Any, index: int) -> None:
        """An Evaluation event of the stream (1.1): the open job's evaluation, kept without a request."""
        if not isinstance(payload, dict) or self.job_id is None or payload.get("JobID") != self.job_id:
            return
        eval_id = payload.get("ID")
        if isinstance(eval_id, str) and self._evals is not None:
            self._raw[eval_id] = payload
            self._stream_index = max(self._stream_index, index)
            self._version += 1
            self._nudge.set()

    # ---- feeds -------------------------------------------------------------------------------------
    def _add(self, name: str, fetch, on_data, refresh_s: float) -> None:
        # Their indexes belong to nothing held: one going back is no reset of Nomad's state.
        self.feeds.start(name, f"Nomad {name}", fetch, on_data, refresh_s=refresh_s, watch_index=False)

    def _drop(self, name: str) -> None:
        self.feeds.stop(name)

    def _fetch_evals(self, job_id: str):
        async def fetch(index: int, wait: Optional[str]) -> Indexed:
            events = self.events
            if index and events is not None and events.state == LIVE and self._evals is not None:
                if self._version == self._returned:
                    self._nudge.clear()
                    waits = [asyncio.ensure_future(self._nudge.wait()), asyncio.ensure_future(events.changed.wait())]
                    try:
                        await asyncio.wait(waits, timeout=STREAM_REST_S, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        for waiter in waits:
                            waiter.cancel()
                if self._version != self._returned and events.state == LIVE:
                    self._returned = self._version
                    return Indexed(("stream", list(self._raw.values())), max(index, self._stream_index))
                index = 0  # the stream stopped, or a long rest: read again
            try:
                answer = await self.nomad.job_evaluations(job_id, index=index, wait=wait if index else None)
            except ApiError as exc:
                return Indexed(("error", f"evaluations unavailable: {exc.one_line()}"), 0)
            return Indexed(("read", answer.value), answer.index)

        return fetch

    def _on_evals(self, value: Any) -> None:
        kind, data = value
        if kind == "error":
            self._evals_error = data
            return
        if kind == "read":
            self._returned = self._version
            self._raw = {d["ID"]: d for d in data if isinstance(d, dict) and isinstance(d.get("ID"), str)}
        try:
            self._evals = tuple(parse_evaluations(list(self._raw.values())))
            self._evals_error = None
        except ParseError as exc:
            self._evals_error = f"evaluations unavailable: Nomad sent an unexpected shape: {exc}"

    async def _fetch_stats(self, index: int, wait: Optional[str]) -> Indexed:
        results = {}
        for alloc_id in list(self.targets()):
            try:
                results[alloc_id] = (parse_alloc_stats(await self.nomad.allocation_stats(alloc_id)), None)
            except ApiError as exc:
                results[alloc_id] = ({}, stats_reason(exc))
            except ParseError as exc:
                results[alloc_id] = ({}, f"stats unavailable: unexpected answer: {exc}")
        return Indexed(results, 0)

    def _on_stats(self, value: Any) -> None:
        wanted = set(self.targets())
        stats = {}
        for alloc_id, (tasks, error) in value.items():
            if alloc_id not in wanted:
                continue
            history = {}
            for task, usage in tasks.items():
                ring = self._history.setdefault((alloc_id, task), deque(maxlen=HISTORY))
                # A reading equal to the last one adds no point: the sparkline (and so the screen) stays
                # as it was, and an idle screen writes nothing (issue 15). A live task's RSS moves anyway.
                if usage.rss_bytes is not None and (not ring or ring[-1] != usage.rss_bytes):
                    ring.append(usage.rss_bytes)
                history[task] = tuple(ring)
            stats[alloc_id] = AllocStats(alloc_id, tasks, error, history)
        self._stats = stats
