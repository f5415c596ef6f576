"""Consul's side of the picture: each job's position, how fast its Gtid grows, and the orphans.

One recursive read of the prefix `dtle` brings every job's keys (`dtle/<job>/…` and `dtleJobList/<job>`,
docs/reference/dtle.md §2). Each answer gives whole positions; the Gtid growth of each job is sampled at
every answer (GtidProgress: the rate, the last growth, the stall mark). When Consul's index goes back,
the answer tells whether its state was reset or a deleted key's tombstone was reaped (kvindex.py): only a
reset throws the samples away, and says so once on the status line.
"""

from __future__ import annotations

import time
from typing import Any, Collection, Iterable, Optional

from dtle_tui.live.kvindex import KvIndexWatch
from dtle_tui.live.notice import Notice
from dtle_tui.live.snapshot import Orphan, ProgressView, find_orphans, progress_view
from dtle_tui.model.gtid import GtidProgress, JobPosition, positions_from_kv


class Positions:
    def __init__(self, notice: Notice) -> None:
        self.notice = notice
        self.by_job: dict[str, JobPosition] = {}
        self.moved = False  # an answer came since the rows last took the positions (rates move with each)
        self.progress: dict[str, GtidProgress] = {}  # job ID -> its Gtid samples (this thread's only)
        self.kv_index = KvIndexWatch()
        self._orphans: tuple[Orphan, ...] = ()
        self._orphans_key: Any = None
        self._orphans_of: Optional[dict] = None  # the positions they were found with

    def index_went_back(self, before: int, after: int) -> None:
        """The kv feed's index went below what it returned before: the next answer says why."""
        self.kv_index.went_back(before, after)

    def answered(self, entries: Any, index: int) -> None:
        """One answer of the recursive read of `dtle` (the kv feed)."""
        reset = self.kv_index.answered(entries, index)
        if reset is not None:
            # Positions are whole in every answer; only the samples from before would make a false rate
            # or a false STALLED mark.
            self.progress.clear()
            self.notice.say(reset)
        positions = positions_from_kv(entries, reuse=self.by_job)
        now = time.time()
        for job_id, pos in positions.items():
            if pos.gtid is None:
                continue
            prog = self.progress.get(job_id)
            if prog is None:
                prog = self.progress[job_id] = GtidProgress()
            prog.feed(now, pos.gtid.transactions)
        if positions != self.by_job:
            self.by_job = positions
        self.moved = True

    def view(self, job_id: Optional[str], now: float) -> Optional[ProgressView]:
        """A job's Gtid progress as the detail shows it, copied for the UI thread."""
        return progress_view(self.progress.get(job_id), now) if job_id is not None else None

    def orphans(self, job_ids: Collection[str], running: Iterable[str], consul_read: bool,
                jobs_moved: bool) -> tuple[Orphan, ...]:
        """Consul drift (docs/reference/dtle.md §1). Comparing every job with every position is only
        redone when one of them moved (`jobs_moved`: a job came or went, or started or stopped running);
        nothing before Consul has answered once (every running job would read as "without position")."""
        key = (consul_read, bool(job_ids))
        if jobs_moved or key != self._orphans_key or self._orphans_of is not self.by_job:
            self._orphans_key, self._orphans_of = key, self.by_job
            self._orphans = find_orphans(set(job_ids), self.by_job, sorted(running)) \
                if consul_read and job_ids else ()
        return self._orphans
