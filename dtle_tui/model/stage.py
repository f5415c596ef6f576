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
