"""Consul's side of the picture: each job's position, how fast its Gtid grows, and the orphans.

Two recursive reads, of `dtle/` and of `dtleJobList/`, bring every job's keys (docs/reference/dtle.md §2);
never the bare prefix `dtle`, which would also bring `dtleUser/` and `dtleRole/`, where dtle keeps its
users' passwords in plain text (docs/reference/real-dtle.md §5). Each answer gives whole positions; the
Gtid growth of each job is sampled at every answer (GtidProgress: the rate, the last growth, the stall
mark), and since when each Gtid stands still is remembered across restarts (gtidmemo.py). When one
read's index goes back, its answer tells whether Consul's state was reset or a deleted key's tombstone
was reaped (kvindex.py): only a reset throws the samples away, and says so once on the status line.
"""

from __future__ import annotations

import time
from typing import Any, Collection, Iterable, Optional

from dtle_tui.live.gtidmemo import GtidMemoFile
from dtle_tui.live.kvindex import KvIndexWatch
from dtle_tui.live.notice import Notice
from dtle_tui.live.snapshot import Orphan, ProgressView, find_orphans, progress_view
from dtle_tui.model.gtid import GtidProgress, JobPosition, positions_from_kv

# The Consul feeds (poller.py) and the prefix each reads: the only two a console needs.
KV_FEEDS = {"kv": "dtle/", "kv-joblist": "dtleJobList/"}


class Positions:
    def __init__(self, notice: Notice, memo: Optional[GtidMemoFile] = None) -> None:
        self.notice = notice
        self.memo = memo if memo is not None else GtidMemoFile(None, "")  # since when each Gtid stands still
        self.unchanged_since: dict[str, float] = {}  # job ID -> since when its Gtid is the one seen last
        self.by_job: dict[str, JobPosition] = {}
        self.moved = False  # an answer came since the rows last took the positions (rates move with each)
        self.progress: dict[str, GtidProgress] = {}  # job ID -> its Gtid samples (this thread's only)
        self.kv_index = {prefix: KvIndexWatch() for prefix in KV_FEEDS.values()}  # one per read
        self._parts: dict[str, Any] = {}  # prefix -> its last answer's entries
        self._orphans: tuple[Orphan, ...] = ()
        self._orphans_key: Any = None
        self._orphans_of: Optional[dict] = None  # the positions they were found with

    def index_went_back(self, before: int, after: int, prefix: str = "dtle/") -> None:
        """A kv feed's index went below what it returned before: its next answer says why."""
        self.kv_index[prefix].went_back(before, after)

    def answered(self, entries: Any, index: int, prefix: str = "dtle/") -> bool:
        """One answer of the recursive read of `prefix` (`dtle/` or `dtleJobList/`); True when it shows
        that Consul's state was reset."""
        reset = self.kv_index[prefix].answered(entries, index)
        if reset is not None:
            # Positions are whole in every answer; only the samples from before would make a false rate
            # or a false STALLED mark.
            self.progress.clear()
            self.notice.say(reset)
        # Whatever a server sends, only the two prefixes' keys are kept (never dtleUser/ nor dtleRole/).
        self._parts[prefix] = [e for e in entries if getattr(e, "key", "").startswith(prefix)]
        entries = [e for part in KV_FEEDS.values() for e in self._parts.get(part, ())]
        positions = positions_from_kv(entries, reuse=self.by_job)
        now = time.time()
        # A sample is a reading of the Gtid, and the Gtid is under dtle/: an answer of dtleJobList/ alone
        # reads none (fed as one, it made a rate of two readings of the same answer).
        for job_id, pos in positions.items() if prefix == "dtle/" else ():
            if pos.gtid is None:
                continue
            since = self.unchanged_since[job_id] = self.memo.seen(job_id, pos.gtid_text, now)
            prog = self.progress.get(job_id)
            if prog is None:
                prog = self.progress[job_id] = GtidProgress()
                if since < now - 1.0:
                    # The same Gtid as remembered from an earlier run: it stood still since then, and the
                    # stall threshold counts from there, not from this console's start (issue 22 item 3).
                    prog.feed(since, pos.gtid.transactions)
            prog.feed(now, pos.gtid.transactions)
        if prefix == "dtle/":
            self.memo.forget_missing({j for j, p in positions.items() if p.gtid is not None})
            for gone in [j for j in self.unchanged_since if j not in positions]:
                del self.unchanged_since[gone]
        self.memo.save_soon()
        if positions != self.by_job:
            self.by_job = positions
        self.moved = True
        return reset is not None

    def view(self, job_id: Optional[str], now: float) -> Optional[ProgressView]:
        """A job's Gtid progress as the detail shows it, copied for the UI thread."""
        if job_id is None:
            return None
        return progress_view(self.progress.get(job_id), now, self.unchanged_since.get(job_id))

    def close(self) -> None:
        """The console stops: what changed since the last write is written."""
        self.memo.save()

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
