"""Full copy vs incremental: the stage of a dtle job, from its dest allocation's events
(docs/reference/dtle.md §5).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Iterable, Optional

from dtle_tui.model.wire import as_int, ns_to_datetime

if TYPE_CHECKING:
    from dtle_tui.model.allocations import Allocation


class Stage(Enum):
    FULL = "full"
    INCREMENTAL = "incr"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        return "—" if self is Stage.UNKNOWN else self.value


@dataclass(frozen=True)
class StageInfo:
    stage: Stage = Stage.UNKNOWN
    since_ns: Optional[int] = None
    event_alloc_id: Optional[str] = None

    @property
    def since(self) -> Optional[datetime]:
        return ns_to_datetime(self.since_ns) if self.since_ns is not None else None


_STAGE_BY_MESSAGE = {"job_stage_full": Stage.FULL, "job_stage_incr": Stage.INCREMENTAL}


def _stage_events(alloc: Allocation) -> list[tuple[int, Stage, str]]:
    # Scans the raw events: detect_stage runs for every job on every refresh and must not pay for
    # building TaskEvent objects nobody looks at.
    out = []
    states = alloc.task_states_raw
    if not isinstance(states, dict):
        return out
    for state in states.values():
        events = state.get("Events") if isinstance(state, dict) else None
        if not isinstance(events, list):
            continue
        for ev in events:
            if isinstance(ev, dict) and ev.get("Type") == "Driver":
                msg = ev.get("DriverMessage")
                if type(msg) is str and msg.startswith("job_stage_"):
                    stage = _STAGE_BY_MESSAGE.get(msg.strip(), Stage.UNKNOWN)
                    out.append((as_int(ev.get("Time")), stage, alloc.id))
    return out


def detect_stage(allocs: Iterable[Allocation]) -> StageInfo:
    """The docs/reference/dtle.md §5 rule: the current dest allocation (DesiredStatus run, newest CreateIndex), its
    Driver events whose DriverMessage starts with job_stage_, the latest by Time.

    Grepping every allocation (the manual's rule) is wrong after restarts (dtle-docs-cn issue 16); the
    src task and the Kafka dest emit no stage events, and a task keeps only its last 10 events, so
    "no event" is UNKNOWN, never a guess.
    """
    current: Optional[Allocation] = None
    for a in allocs:
        if a.task_group == "dest" and a.desired_status == "run":
            if current is None or a.create_index > current.create_index:
                current = a
    if current is None:
        return StageInfo()
    events = _stage_events(current)
    if not events:
        return StageInfo()
    time_ns, stage, alloc_id = max(events, key=lambda e: e[0])
    return StageInfo(stage, time_ns, alloc_id)


def stage_timeline(allocs: Iterable[Allocation]) -> list[tuple[int, Stage, str]]:
    """Every stage event of every dest allocation, oldest first: (time_ns, Stage, alloc_id)."""
    out: list[tuple[int, Stage, str]] = []
    for a in allocs:
        if a.task_group == "dest":
            out.extend(_stage_events(a))
    out.sort(key=lambda e: e[0])
    return out


# ---- the stage a job has REACHED (issue 22 item 1; docs/reference/real-dtle.md §3) -------------------------
# A real dtle dest emits job_stage_full at every start, milliseconds before it fails, and the src emits no
# stage event at all: a job that never copied a row carries one job_stage_full per restart. A stage event
# therefore counts only when the start that emitted it did not end in an error within REACH_AFTER_S.
REACH_AFTER_S = 30.0
_KILLED_BY_NOMAD = frozenset({"Killing", "Restart Signaled", "Signaling"})


@dataclass(frozen=True)
class StageEvent:
    """One job_stage_* event of a dest allocation and whether the dest got past it."""

    time_ns: int
    stage: Stage
    alloc_id: str
    reached: bool
    failed_after_s: Optional[float] = None  # how long after its start the dest failed (not reached)


@dataclass(frozen=True)
class StageStep:
    """A transition of the timeline: the stage, when first and last seen, how many starts emitted it in a
    row (restarts collapse into `count`), and whether it was reached."""

    stage: Stage
    first_ns: int
    last_ns: int
    count: int
    reached: bool


def _is_error_exit(ev: dict, before: Optional[dict]) -> bool:
    if ev.get("Type") != "Terminated":
        return False
    if before is not None and before.get("Type") in _KILLED_BY_NOMAD:
        return False  # Nomad's own kill (stop, restart, drain): not the task failing
    details = ev.get("Details") if isinstance(ev.get("Details"), dict) else {}
    return bool(as_int(ev.get("ExitCode")) or ev.get("Message") or details.get("exit_message"))


def _events_of(state: object) -> list:
    events = state.get("Events") if isinstance(state, dict) else None
    if not isinstance(events, list):
        return []
    return sorted((ev for ev in events if isinstance(ev, dict)), key=lambda ev: as_int(ev.get("Time")))


def stage_events(allocs: Iterable[Allocation]) -> list[StageEvent]:
    """Every stage event of every dest allocation, oldest first, each judged reached or not."""
    out: list[StageEvent] = []
    for a in allocs:
        if a.task_group != "dest" or not isinstance(a.task_states_raw, dict):
            continue
        for state in a.task_states_raw.values():
            events = _events_of(state)
            start_ns: Optional[int] = None
            for i, ev in enumerate(events):
                kind, t = ev.get("Type"), as_int(ev.get("Time"))
                if kind == "Started":
                    start_ns = t
                    continue
                msg = ev.get("DriverMessage")
                if kind != "Driver" or type(msg) is not str or not msg.startswith("job_stage_"):
                    continue
                stage = _STAGE_BY_MESSAGE.get(msg.strip(), Stage.UNKNOWN)
                began = start_ns if start_ns is not None else t
                failed_after = None
                for j in range(i + 1, len(events)):
                    later = events[j]
                    if later.get("Type") == "Started":
                        break
                    if later.get("Type") == "Terminated":
                        if _is_error_exit(later, events[j - 1]):
                            failed_after = (as_int(later.get("Time")) - began) / 1e9
                        break
                reached = failed_after is None or failed_after >= REACH_AFTER_S
                out.append(StageEvent(t, stage, a.id, reached, None if reached else failed_after))
    out.sort(key=lambda e: e.time_ns)
    return out


def stage_reached(allocs: Iterable[Allocation]) -> StageInfo:
    """The latest stage the job's dest got past (any dest allocation, current or replaced); UNKNOWN when
    no stage was reached (a job that never copied a row, or whose events were pushed out)."""
    reached = [e for e in stage_events(allocs) if e.reached and e.stage is not Stage.UNKNOWN]
    if not reached:
        return StageInfo()
    last = reached[-1]
    return StageInfo(last.stage, last.time_ns, last.alloc_id)


def stage_steps(allocs: Iterable[Allocation]) -> list[StageStep]:
    """The timeline as transitions: consecutive events of one stage (and one verdict, reached or not)
    collapse into one step counting them, so `full → full → full` of a crash loop is one step of 3."""
    steps: list[StageStep] = []
    for e in stage_events(allocs):
        if steps and steps[-1].stage is e.stage and steps[-1].reached == e.reached:
            last = steps[-1]
            steps[-1] = StageStep(last.stage, last.first_ns, e.time_ns, last.count + 1, last.reached)
        else:
            steps.append(StageStep(e.stage, e.time_ns, e.time_ns, 1, e.reached))
    return steps


def later_stage(known: StageInfo, fresh: StageInfo) -> StageInfo:
    """The later of two reached stages. Nomad keeps a task's last 10 events only, so a crash loop pushes
    the old stage events out: a caller keeps what it saw reached and folds each new reading in."""
    if fresh.stage is Stage.UNKNOWN:
        return known
    if known.stage is Stage.UNKNOWN or (fresh.since_ns or 0) >= (known.since_ns or 0):
        return fresh
    return known
