"""dtle's own progress figures for what is on screen: the open Job detail, and the Jobs rows in view.

Runs on the poller's loop (one asyncio task), asks nothing while the setting `dtle_api` is off, and
never more than one request per task at a time:
- the job open in Job detail: each running task (src, dest) every DETAIL_S;
- the running jobs of the Jobs rows in view (wide terminals): every ROWS_S at the fastest (dtle's own
  stats interval is 15 s), at most ROWS_CONCURRENCY requests at once; rows out of view, jobs not
  running and tasks not running are not asked.
A failure (unreachable, a 500 such as `can not find the task`, a hang ended by the timeout, HTML) is one
line on that job's panel, never on the status line; the task is then asked again after a back-off.
Results go out as one immutable mapping, job ID -> JobProgress, which the poller puts in the snapshot.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Optional

from dtle_tui.api.dtle import DtleClient
from dtle_tui.api.errors import ApiError
from dtle_tui.model.allocations import Allocation, alloc_role, dtle_role
from dtle_tui.model.monitor import (
    JobProgress,
    TaskMonitor,
    TaskReading,
    frozen_since,
    job_progress,
    same_since,
    taken_s,
)
from dtle_tui.text import fmt
from dtle_tui.text.secrets import redact
from dtle_tui.text.textsafe import safe_text, truncate

if TYPE_CHECKING:
    from dtle_tui.api.nomad import NomadClient
    from dtle_tui.config.settings import Settings
    from dtle_tui.live.openjob import OpenJob
    from dtle_tui.live.snapshot import JobRow
    from dtle_tui.live.store import NomadStore

log = logging.getLogger(__name__)

DETAIL_S = 3.0
ROWS_S = 15.0
ROWS_CONCURRENCY = 4
BACKOFF_CAP_S = 60.0
FORGET_S = 120.0  # a job off screen this long is dropped from what is held


@dataclass
class _Task:
    """One (allocation, task) being watched: its last reading and when it is due again."""

    job_id: str
    alloc_id: str
    node_id: str
    task: str
    reading: Optional[TaskReading] = None
    previous: Optional[TaskMonitor] = None
    previous_at: float = 0.0
    still_since: Optional[float] = None
    same_since: Optional[float] = None  # dtle's clock: the delay and Gtid exactly as now since then
    taken: Optional[float] = None  # dtle's clock: when the last answer's figures were taken
    done_at: Optional[float] = None  # monotonic, when the last answer or failure came
    failures: int = 0
    busy: bool = False


def running_tasks(allocs: Iterable[Allocation], full_states: bool) -> list[tuple[Allocation, str, str]]:
    """(allocation, role "src"/"dest", task name) of each task to ask about. With full task states only
    tasks whose state is `running`; slim ones (the Jobs list) know no task state, so the running
    allocation's tasks by name (the TaskStates keys it kept, else the group name). Only tasks named as a
    dtle role: dtle knows no other task (it answers "can not find the task", docs/reference/dtle-monitor.md
    §1.5), and another driver's task has no dtle figures."""
    out = []
    for alloc in allocs:
        role = alloc_role(alloc)
        if alloc.client_status != "running" or alloc.desired_status not in ("run", "") or not role:
            continue
        if full_states:
            names = [t.name for t in alloc.task_states if t.state == "running"]
        else:
            raw = alloc.task_states_raw if isinstance(alloc.task_states_raw, dict) else {}
            names = [str(n) for n in raw] or [alloc.task_group]
        out.extend((alloc, role, name) for name in names if dtle_role(name))
    return out


class DtleMonitor:
    def __init__(self, settings: Settings, nomad: NomadClient, changed: Callable[[], None],
                 allocations_of: Callable[[str, bool], tuple[list, bool]],
                 stage_of: Callable[[str], str], kafka_of: Callable[[str], bool]) -> None:
        self.client = DtleClient(settings, nomad)
        self.changed = changed
        self.allocations_of = allocations_of  # job ID, detail? -> (allocations, full task states?)
        self.stage_of = stage_of
        self.kafka_of = kafka_of
        self.detail_job: Optional[str] = None
        self.row_jobs: tuple[str, ...] = ()
        self._tasks: dict[tuple[str, str], _Task] = {}  # (allocation ID, task) -> _Task
        self._seen: dict[str, float] = {}  # job ID -> last time it was on screen (monotonic)
        self._on_screen: set = set()  # the jobs on screen at the last schedule
        self._view: Mapping[str, JobProgress] = {}
        self._wake = asyncio.Event()
        self._rows_gate = asyncio.Semaphore(ROWS_CONCURRENCY)
        self.task: Optional[asyncio.Task] = None

    # ---- intents (on the poller's loop) -----------------------------------------------------------
    def watch_detail(self, job_id: Optional[str]) -> None:
        if job_id != self.detail_job:
            self.detail_job = job_id
            self._wake.set()

    def watch_rows(self, job_ids: Iterable[str]) -> None:
        ids = tuple(job_ids)
        if ids != self.row_jobs:
            self.row_jobs = ids
            self._wake.set()

    def view(self) -> Mapping[str, JobProgress]:
        return self._view

    # ---- the loop ---------------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            while True:
                self._schedule()
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=0.5)
                except asyncio.TimeoutError:
                    pass
        finally:
            await self.client.aclose()

    def _wanted(self) -> dict[tuple[str, str], tuple[str, Allocation, bool]]:
        """(allocation ID, task) -> (job ID, allocation, for the detail?) of everything on screen now."""
        wanted: dict[tuple[str, str], tuple[str, Allocation, bool]] = {}
        jobs = ([(self.detail_job, True)] if self.detail_job else []) + \
            [(j, False) for j in self.row_jobs if j != self.detail_job]
        now = time.monotonic()
        self._on_screen = {job_id for job_id, _ in jobs}
        for job_id, detail in jobs:
            self._seen[job_id] = now
            allocs, full = self.allocations_of(job_id, detail)
            for alloc, _role, name in running_tasks(allocs, full):
                wanted[(alloc.id, name)] = (job_id, alloc, detail)
        return wanted

    def _schedule(self) -> None:
        wanted = self._wanted()
        now = time.monotonic()
        # A task is dropped when its job, on screen, no longer runs it (a new allocation), or when its job has
        # been off screen for FORGET_S: a row scrolled out and back in is not asked again before it is due.
        on_screen = self._on_screen
        for key in [k for k, t in self._tasks.items() if k not in wanted and not t.busy
                    and (t.job_id in on_screen or t.job_id not in self._seen)]:
            del self._tasks[key]
        for key, (job_id, alloc, detail) in wanted.items():
            task = self._tasks.get(key)
            if task is None:
                task = self._tasks[key] = _Task(job_id, alloc.id, alloc.node_id, key[1])
            if task.busy or now < self._due(task, detail):
                continue
            task.busy = True
            asyncio.ensure_future(self._ask(task, detail))
        # What is off screen for a while is dropped (its panel would show old figures as new).
        stale = [j for j, t in self._seen.items() if now - t > FORGET_S]
        if stale:
            for job_id in stale:
                del self._seen[job_id]
            self._view = {j: p for j, p in self._view.items() if j not in stale}

    @staticmethod
    def _due(task: _Task, detail: bool) -> float:
        """When to ask again: the interval of where it is shown now (a row's task opened in Job detail is
        asked at the detail's pace at once), doubled per failure in a row up to BACKOFF_CAP_S."""
        if task.done_at is None:
            return 0.0
        interval = DETAIL_S if detail else ROWS_S
        if task.failures:
            interval = min(BACKOFF_CAP_S, interval * 2 ** task.failures)
        return task.done_at + interval

    async def _ask(self, task: _Task, detail: bool) -> None:
        try:
            if detail:
                monitor = await self._fetch(task)
            else:
                async with self._rows_gate:
                    monitor = await self._fetch(task)
            self._got(task, monitor)
            task.failures = 0
        except (ApiError, Exception) as exc:  # noqa: B014 - one line on the panel whatever it is
            if not isinstance(exc, ApiError):
                log.exception("dtle monitor of %s %s failed", task.alloc_id, task.task)
            task.failures += 1
            message = exc.one_line() if isinstance(exc, ApiError) else f"internal error: {type(exc).__name__}"
            # The last good figures stay, said to be old: a blip must not blank the panel.
            kept = task.reading.monitor if task.reading is not None else None
            if kept is not None:
                message += f" (figures of {fmt.hms(task.previous_at)} kept)"
            task.reading = TaskReading(task.task, kept, _one_line(message), time.time(), task.still_since,
                                       task.same_since, task.taken)
            if self.client.nodes_mode:
                self.client.forget(task.node_id)  # the node may have moved or restarted: look it up again
        finally:
            task.busy = False
            task.done_at = time.monotonic()
            self._publish(task.job_id)

    async def _fetch(self, task: _Task) -> TaskMonitor:
        target = await self.client.target(task.node_id)
        return await self.client.monitor_task(target, task.alloc_id, task.task)

    def _got(self, task: _Task, monitor: TaskMonitor) -> None:
        now = time.time()
        task.still_since = frozen_since(task.previous, monitor, task.still_since, task.previous_at)
        taken = taken_s(monitor, now)
        task.same_since = same_since(task.previous, monitor, task.same_since, task.taken, taken)
        task.previous, task.previous_at, task.taken = monitor, now, taken
        task.reading = TaskReading(task.task, monitor, None, now, task.still_since, task.same_since, taken)

    def _publish(self, job_id: str) -> None:
        readings = [t for t in self._tasks.values() if t.job_id == job_id and t.reading is not None]
        if not readings:
            return
        allocs, _ = self.allocations_of(job_id, job_id == self.detail_job)
        dest_ids = {a.id for a in allocs if alloc_role(a) == "dest"}
        src = next((t.reading for t in readings if t.alloc_id not in dest_ids), None)
        dest = next((t.reading for t in readings if t.alloc_id in dest_ids), None)
        progress = job_progress(self.stage_of(job_id), src, dest, self.kafka_of(job_id), time.time())
        if self._view.get(job_id) != progress:
            view = dict(self._view)
            view[job_id] = progress
            self._view = view
            self.changed()


def _one_line(message: str) -> str:
    return truncate(" ".join(safe_text(redact(message), single_line=False).split()), 300)


def for_open_job(settings: Settings, nomad: NomadClient, changed: Callable[[], None], store: NomadStore,
                 open_job: OpenJob, row_of: Callable[[str], Optional[JobRow]]) -> DtleMonitor:
    """A monitor of the jobs on screen (on the poller's loop): the open job's own allocations (whole task
    states) once read, else the job list's slim ones; the stage from the job's row; Kafka from the open
    job's spec. It follows the job that opens (`open_job.watchers`)."""

    def allocations_of(job_id: str, detail: bool) -> tuple[list, bool]:
        if detail and open_job.job_id == job_id:
            return open_job.known_allocations()
        return store.allocations_of(job_id), False

    def stage_of(job_id: str) -> str:
        row = row_of(job_id)
        return row.stage.value if row is not None else ""

    def kafka_of(job_id: str) -> bool:
        return open_job.job_id == job_id and open_job.kafka_dest

    monitor = DtleMonitor(settings, nomad, changed, allocations_of, stage_of, kafka_of)
    open_job.watchers.append(lambda: monitor.watch_detail(open_job.job_id))
    monitor.watch_detail(open_job.job_id)  # a job opened before the monitor started
    return monitor
