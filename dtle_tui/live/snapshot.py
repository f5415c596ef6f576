"""What the screens show: immutable snapshots derived from the latest API answers.

The poller builds a new `Snapshot` whenever a feed brings new data; screens only read it. A snapshot is
the cluster and its health, plus one record of what is open (`OpenView`: the open job, the open
allocation, their troubleshooting figures). Rows are frozen dataclasses so a screen can tell an unchanged
row by equality and skip repainting it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Mapping, Optional

from dtle_tui.model.allocations import Allocation
from dtle_tui.model.gtid import GtidProgress, JobPosition
from dtle_tui.model.jobs import Job
from dtle_tui.model.stage import Stage, StageInfo, StageStep, detect_stage, stage_timeline
from dtle_tui.model.taskevents import error_events
from dtle_tui.model.verdict import Verdict

if TYPE_CHECKING:  # read after the first paint: not imported before it
    from dtle_tui.live.troubleview import TroubleView
    from dtle_tui.model.monitor import JobProgress
    from dtle_tui.model.nodes import Node, NodeEvent


@dataclass(frozen=True)
class FeedState:
    """Health of one API feed: when it last succeeded and, while failing, since when and why."""

    ok_at: Optional[float] = None
    error: Optional[str] = None
    stale_since: Optional[float] = None
    failures: int = 0
    # Changes arrive as they happen (the event stream, or blocking queries the server holds): the data
    # is as fresh as the cluster, so the status line says "live" rather than showing a ticking age.
    live: bool = False
    refused: bool = False  # the last failure was a 403: the token lacks a capability (not an outage)

    @property
    def ok(self) -> bool:
        return self.error is None and self.ok_at is not None


@dataclass(frozen=True)
class AllocCounts:
    running: int = 0
    pending: int = 0
    failed: int = 0
    lost: int = 0
    complete: int = 0
    queued: int = 0  # JobSummary Queued: allocations Nomad could not place (no node fits)

    def describe(self) -> str:
        """Short cell text: `1 run`, `2 fail`, `1 queued`; mixed states as `1r 2f 1l 1q`."""
        states = [(self.running, "run"), (self.pending, "pend"), (self.failed, "fail"), (self.lost, "lost"),
                  (self.queued, "queued")]
        present = [(n, word) for n, word in states if n]
        if not present:
            return f"{self.complete} done" if self.complete else "—"
        if len(present) == 1:
            n, word = present[0]
            return f"{n} {word}"
        return " ".join(f"{n}{word[0]}" for n, word in present)

    @property
    def healthy(self) -> bool:
        return self.failed == 0 and self.lost == 0


@dataclass(frozen=True)
class JobRow:
    """One line of the Jobs screen."""

    id: str
    status: str
    stage: Stage
    stage_since_ns: Optional[int]
    src: AllocCounts
    dest: AllocCounts
    transactions: Optional[int]
    gtid_text: Optional[str]
    binlog: Optional[str]
    rate: Optional[float]
    stalled: bool
    submit_time_ns: int
    stop: bool
    last_error: str = ""  # first line of the newest error of a failed dest task (wide Jobs screen)
    # The job's verdict (model/verdict.py): its kind and rank order the Jobs list, its stage is the stage
    # REACHED, its reason the short cell (model.attention.reason_now counts its times to now).
    verdict: Optional[Verdict] = None
    stalled_since_ns: Optional[int] = None  # with a STALLED verdict: the Gtid has not moved since then
    recheck_at: float = 0.0  # epoch s: the verdict can change then without new data (a task settling)
    # The groups not named as a dtle role, by name, with their counts (a job of another driver: src and
    # dest stay empty, nothing of it is counted as dest).
    others: tuple = ()

    @property
    def is_dtle(self) -> bool:
        """A job with a src or dest group (or whose groups are not known yet): dtle's figures and stages
        can mean something for it."""
        return not self.others or self.src != AllocCounts() or self.dest != AllocCounts()

    def others_text(self) -> str:
        """`heartbeat 1 run`: the counts of the groups that are not dtle's, each under its name."""
        return ", ".join(f"{group} {counts.describe()}" for group, counts in self.others)


@dataclass(frozen=True)
class ProgressView:
    """A job's Gtid progress as the detail screen shows it, taken on the poller's thread: the screen never
    reads GtidProgress's arrays, which the poller trims while it feeds them."""

    rate: Optional[float]
    advanced_at: Optional[float]  # epoch seconds of the last growth; None when none was seen
    buckets: tuple[float, ...]  # the sparkline: mean rates of 10-second windows, oldest first
    # Since when the Gtid has been the one seen last (epoch s): remembered across restarts of the console
    # (live/gtidmemo.py), else its first reading; None without a Gtid.
    unchanged_since: Optional[float] = None

    def advanced_s(self, now: float) -> Optional[float]:
        return None if self.advanced_at is None else max(0.0, now - self.advanced_at)


SPARK_BUCKETS = 60
SPARK_BUCKET_S = 10.0


def progress_view(progress: Optional[GtidProgress], now: float,
                  unchanged_since: Optional[float] = None) -> Optional[ProgressView]:
    if progress is None:
        return None
    since = progress.last_advanced_s(now)
    return ProgressView(rate=progress.rate(), advanced_at=None if since is None else now - since,
                        buckets=tuple(progress.bucketed_rates(SPARK_BUCKETS, bucket_s=SPARK_BUCKET_S)),
                        unchanged_since=unchanged_since)


@dataclass(frozen=True)
class JobDetail:
    """What the Job detail screen needs beyond the job's row."""

    job_id: str
    job: Optional[Job]
    allocations: tuple[Allocation, ...]
    stage: StageInfo
    timeline: tuple[tuple[int, Stage, str], ...]
    error: Optional[str] = None
    restarts: int = 0
    last_error: Optional[tuple[int, str, str]] = None  # (time ns, allocation short ID, text)
    progress: Optional[ProgressView] = None
    verdict: Optional[Verdict] = None  # model/verdict.py: what the job is, read first (live/openjob.py)
    steps: tuple[StageStep, ...] = ()  # the stage timeline as transitions, restarts collapsed
    stalled_since: Optional[float] = None  # the stall rule's start (model/stall.py) once the threshold passed


@dataclass(frozen=True)
class NodeView:
    """What Node detail shows (live/opennode.py fills it while a node is open)."""

    node_id: str
    node: Optional[Node] = None  # the full node; None until read (or gone: `error`)
    events: tuple[NodeEvent, ...] = ()  # newest first
    allocations: Optional[tuple[Allocation, ...]] = None  # None until read
    dtle: frozenset = frozenset()  # IDs of the allocations whose task group runs on the dtle driver
    error: Optional[str] = None


@dataclass(frozen=True)
class Orphan:
    """Consul state that outlived its Nomad job, or a running job with no saved position."""

    job_id: str
    kind: str  # "keys without job" or "job without position"
    keys: tuple[str, ...]
    gtid_text: Optional[str]


@dataclass(frozen=True)
class OpenView:
    """What the open screens show beyond the cluster (live/openjob.py reads it)."""

    job: Optional[JobDetail] = None  # the job open in Job detail
    allocation: Optional[Allocation] = None  # the allocation open in Allocation, whole
    allocation_error: Optional[str] = None  # why it is not there (garbage-collected)
    troubles: Optional[TroubleView] = None  # their evaluations and task stats (live/troubleshoot.py)
    node: Optional[NodeView] = None  # the node open in Node detail (live/opennode.py)


@dataclass(frozen=True)
class Snapshot:
    generation: int = 0
    # The cluster.
    rows: tuple[JobRow, ...] = ()
    nodes: tuple[Node, ...] = ()
    positions: Mapping[str, JobPosition] = field(default_factory=dict)
    orphans: tuple[Orphan, ...] = ()
    # dtle's own figures (live/monitor.py) of the jobs on screen: job ID -> model.monitor.JobProgress.
    dtle: Mapping[str, JobProgress] = field(default_factory=dict)
    nomad_version: str = ""
    region: str = ""
    namespace: str = ""
    # Its health.
    nomad: FeedState = FeedState()
    consul: FeedState = FeedState()
    nodes_state: FeedState = FeedState()  # /v1/nodes alone: refused by a token without node:read, say so there
    notice: str = ""  # one line said once on the status line (a server whose state was reset)
    # What is open.
    open: OpenView = OpenView()

    def row(self, job_id: str) -> Optional[JobRow]:
        return self._rows_by_id.get(job_id)

    # The open record's parts, as the screens read them.
    @property
    def detail(self) -> Optional[JobDetail]:
        return self.open.job

    @property
    def allocation(self) -> Optional[Allocation]:
        return self.open.allocation

    @property
    def allocation_error(self) -> Optional[str]:
        return self.open.allocation_error

    @property
    def node_view(self) -> Optional[NodeView]:
        return self.open.node

    @property
    def troubles(self) -> Optional[TroubleView]:
        return self.open.troubles

    @functools.cached_property
    def _rows_by_id(self) -> dict[str, JobRow]:
        # Built on first use, once per snapshot (a frozen dataclass still has a __dict__ for this).
        by_id: dict[str, JobRow] = {}
        for row in self.rows:
            by_id.setdefault(row.id, row)
        return by_id


def last_error_event(allocs: Iterable[Allocation]) -> Optional[tuple[int, str, str]]:
    """The newest event that carries an error, across every task of every allocation of a job."""
    best: Optional[tuple[int, str, str]] = None
    for alloc in allocs:
        for task in alloc.task_states:
            for ev in error_events(task.events):
                if best is None or ev.time_ns > best[0]:
                    best = (ev.time_ns, alloc.short_id, ev.text or ev.type)
    return best


def build_detail(job_id: str, job: Optional[Job], allocs: list[Allocation], error: Optional[str],
                 progress: Optional[ProgressView] = None) -> JobDetail:
    ordered = tuple(sorted(allocs, key=lambda a: a.create_index, reverse=True))
    return JobDetail(
        job_id=job_id,
        job=job,
        allocations=ordered,
        stage=detect_stage(ordered),
        timeline=tuple(stage_timeline(ordered)),
        error=error,
        restarts=sum(a.restarts for a in ordered),
        last_error=last_error_event(ordered),
        progress=progress,
    )


def find_orphans(job_ids: set[str], positions: Mapping[str, JobPosition], running: Iterable[str]) -> tuple:
    """Consul drift (docs/reference/dtle.md §1: deleting a job leaves its Consul data behind)."""
    orphans = [
        Orphan(job_id=job, kind="keys without job", keys=tuple(pos.keys), gtid_text=pos.gtid_text or None)
        for job, pos in sorted(positions.items())
        if job not in job_ids
    ]
    orphans.extend(
        Orphan(job_id=job, kind="job without position", keys=(), gtid_text=None)
        for job in sorted(running)
        if job not in positions
    )
    return tuple(orphans)
