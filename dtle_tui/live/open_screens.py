"""What the open screens ask the poller to follow: the open job (Job detail), the open allocation, and
the Jobs rows in view for dtle's figures. Mixed into Poller: it reads and sets the poller's fields
(`_detail_job`, `_job`, `_detail_allocs`, `_alloc_id`, `_alloc`, the feeds, `monitor`, `troubles`).

Each open screen adds its own blocking feeds (job, its allocations, the allocation) and drops them when
it closes, so an idle console with no detail open reads nothing per job.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

from dtle_tui.api.errors import ApiError
from dtle_tui.api.nomad import Indexed, NomadClient
from dtle_tui.live.feeds import Fetch
from dtle_tui.model.allocations import parse_allocation, parse_allocations
from dtle_tui.model.jobs import parse_job


class OpenScreens:
    """Poller's half for the open detail screens (see the module docstring)."""

    # Provided by Poller.
    settings: Any
    nomad: Optional[NomadClient]
    store: Any
    monitor: Any
    troubles: Any
    _detail_job: Optional[str]
    _detail_allocs: Optional[list]
    _job: Any
    _job_error: Optional[str]
    _alloc_id: Optional[str]
    _alloc: Any
    _alloc_error: Optional[str]

    def call_soon(self, fn: Any) -> None:  # Poller's
        raise NotImplementedError

    def changed(self, delay: Optional[float] = None) -> None:  # Poller's
        raise NotImplementedError

    def _add_feed(self, name: str, service: str, fetch: Fetch, on_data: Any, follows_stream: bool = False) -> Any:
        raise NotImplementedError

    def _drop_feed(self, name: str) -> None:
        raise NotImplementedError

    def watch_job(self, job_id: Optional[str]) -> None:
        self.call_soon(lambda: self._watch_job(job_id))

    # The Jobs rows in view, as last told: the monitor starts after the first paint and takes them then.
    dtle_rows: tuple = ()

    def watch_dtle_rows(self, job_ids: tuple) -> None:
        """The running jobs of the Jobs rows in view, for dtle's progress column (nothing when it is off)."""
        self.call_soon(lambda: self._watch_dtle_rows(job_ids))

    def _watch_dtle_rows(self, job_ids: tuple) -> None:
        self.dtle_rows = job_ids
        if self.monitor is not None:
            self.monitor.watch_rows(job_ids)

    def watch_allocation(self, alloc_id: Optional[str]) -> None:
        self.call_soon(lambda: self._watch_alloc(alloc_id))

    def _watch_job(self, job_id: Optional[str]) -> None:
        if job_id == self._detail_job:
            return
        self._drop_feed("job")
        self._drop_feed("job_allocations")
        self._detail_job, self._job, self._job_error, self._detail_allocs = job_id, None, None, None
        if job_id is not None:
            nomad = self.nomad
            assert nomad is not None
            self._add_feed("job", "Nomad", self._fetch_job(nomad, job_id), self._on_job)
            self._add_feed("job_allocations", "Nomad",
                           lambda i, w: nomad.job_allocations(job_id, index=i, wait=w), self._on_job_allocs)
        if self.monitor is not None:
            self.monitor.watch_detail(job_id)
        if self.troubles is not None:
            self.troubles.watch_job(job_id)
            self.troubles.retarget()
        self.changed()

    def _watch_alloc(self, alloc_id: Optional[str]) -> None:
        if alloc_id == self._alloc_id:
            return
        self._drop_feed("allocation")
        self._alloc_id, self._alloc, self._alloc_error = alloc_id, None, None
        if alloc_id is not None:
            nomad = self.nomad
            assert nomad is not None
            self._add_feed("allocation", "Nomad", self._fetch_alloc(nomad, alloc_id), self._on_alloc)
        if self.troubles is not None:
            self.troubles.retarget()
        self.changed()

    def _stats_targets(self) -> list:
        """Allocations whose task stats are read: the open allocation, else the open job's running ones."""
        if self._alloc_id is not None:
            return [self._alloc_id]
        if self._detail_job is None:
            return []
        allocs = self._detail_allocs if self._detail_allocs is not None else self.store.allocations_of(self._detail_job)
        return sorted(a.id for a in allocs if a.client_status == "running")

    def _fetch_job(self, nomad: NomadClient, job_id: str) -> Fetch:
        async def fetch(index: int, wait: Optional[str]) -> Indexed:
            try:
                return await nomad.job(job_id, index=index, wait=wait)
            except ApiError as exc:
                if exc.status == 404:  # purged: the detail says so instead of going stale
                    await asyncio.sleep(0 if not index else self.settings.refresh)
                    return Indexed(None, 0)
                raise

        return fetch

    def _fetch_alloc(self, nomad: NomadClient, alloc_id: str) -> Fetch:
        async def fetch(index: int, wait: Optional[str]) -> Indexed:
            try:
                return await nomad.allocation(alloc_id, index=index, wait=wait)
            except ApiError as exc:
                if exc.status == 404:
                    return Indexed(None, 0)
                raise

        return fetch

    # ---- data handlers (poller thread) --------------------------------------------------------
    def _on_job_allocs(self, value: Any) -> None:
        self._detail_allocs = parse_allocations(value)
        if self.troubles is not None:
            self.troubles.retarget()

    def _on_job(self, value: Any) -> None:
        if value is None:
            self._job, self._job_error = None, f"job {self._detail_job!r} not found in Nomad (purged?)"
        else:
            self._job, self._job_error = parse_job(value), None

    def _on_alloc(self, value: Any) -> None:
        if value is None:
            self._alloc, self._alloc_error = None, f"allocation {self._alloc_id} not found (garbage-collected?)"
        else:
            self._alloc, self._alloc_error = parse_allocation(value), None
