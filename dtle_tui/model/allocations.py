"""Typed views of Nomad's allocations (both dialects), built for 15,000 of them per refresh.

The bulky per-allocation task states are parsed on first access only, `parse_allocations` hands back
the previous refresh's object when its ModifyIndex did not move (`reuse=`), and `slim_allocation`
keeps only what the Jobs screen derives from an allocation (counts, stage).
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping, Optional

from dtle_tui.model.taskevents import TaskState, parse_task_states
from dtle_tui.model.wire import Shape, as_int, as_list, as_str, build, ns_to_datetime, top_dict, top_list


@dataclass(frozen=True)
class RescheduleEvent:
    time_ns: int = 0
    prev_alloc_id: str = ""
    prev_node_id: str = ""
    delay_ns: int = 0

    @property
    def time(self) -> Optional[datetime]:
        return ns_to_datetime(self.time_ns)


def _reschedule_events(tracker: Any) -> tuple[RescheduleEvent, ...]:
    if not isinstance(tracker, dict):
        return ()
    # Delay is a string in one documentation sample (tests/fixtures/reference/nomad_allocation.json); as_int copes.
    return tuple(
        RescheduleEvent(as_int(e.get("RescheduleTime")), as_str(e.get("PrevAllocID")),
                        as_str(e.get("PrevNodeID")), as_int(e.get("Delay")))
        for e in as_list(tracker.get("Events")) if isinstance(e, dict)
    )


_TERMINAL_CLIENT = frozenset({"complete", "failed", "lost"})

# dtle's roles come from the task name, in any case (docs/reference/dtle.md §1); a dtle job's groups are
# named after them too. A name that is neither is not dtle's: dtle has no task by that name.
SRC_NAMES = frozenset({"src", "source"})
DEST_NAMES = frozenset({"dst", "dest", "destination"})


def dtle_role(name: str) -> str:
    """"src" or "dest" for a name dtle reads as that role, "" for any other name."""
    low = name.lower()
    return "src" if low in SRC_NAMES else "dest" if low in DEST_NAMES else ""


@dataclass(frozen=True)
class Allocation:
    id: str
    eval_id: str = ""
    name: str = ""
    namespace: str = ""
    node_id: str = ""
    node_name: str = ""
    job_id: str = ""
    job_version: int = 0
    task_group: str = ""
    desired_status: str = ""
    desired_description: str = ""
    client_status: str = ""
    client_description: str = ""
    reschedule_events: tuple[RescheduleEvent, ...] = ()
    followup_eval_id: str = ""
    previous_allocation: str = ""
    next_allocation: str = ""
    create_index: int = 0
    modify_index: int = 0
    create_time_ns: int = 0
    modify_time_ns: int = 0
    job_type: str = ""
    # Raw TaskStates, parsed on first access of `task_states`; compared but never hashed.
    task_states_raw: Any = field(default=None, repr=False, hash=False)
    # ((task, Resources.MemoryMB), ...) from a full allocation's TaskResources; () for list stubs.
    memory_mb: tuple = ()

    @functools.cached_property
    def task_states(self) -> tuple[TaskState, ...]:
        return parse_task_states(self.task_states_raw)

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @property
    def is_terminal(self) -> bool:
        # ClientStatus is what says the tasks stopped writing to Consul (docs/reference/dtle.md §4 step 3).
        return self.client_status in _TERMINAL_CLIENT

    @property
    def restarts(self) -> int:
        return sum(t.restarts for t in self.task_states)

    @property
    def create_time(self) -> Optional[datetime]:
        return ns_to_datetime(self.create_time_ns)

    @property
    def modify_time(self) -> Optional[datetime]:
        return ns_to_datetime(self.modify_time_ns)

    def task(self, name: str) -> Optional[TaskState]:
        return next((t for t in self.task_states if t.name == name), None)

    @property
    def error_text(self) -> Optional[str]:
        """Why the allocation failed (or keeps restarting); None when nothing went wrong.

        The job's Status stays "running" while tasks fail (docs/reference/dtle.md §6), so the task events are the
        reliable source.
        """
        states = self.task_states
        failed = [t for t in states if t.failed]
        if not failed and (self.client_status in ("failed", "lost") or self.restarts):
            failed = list(states)
        parts = [f"{t.name}: {t.last_error}" for t in failed if t.last_error]
        if parts:
            return "; ".join(parts)
        if self.client_status in ("failed", "lost"):
            return self.client_description or self.desired_description or self.client_status
        return None


_ALLOC_SHAPE = Shape(
    strs=("id", "eval_id", "name", "namespace", "node_id", "node_name", "job_id", "task_group",
          "desired_status", "desired_description", "client_status", "client_description",
          "followup_eval_id", "previous_allocation", "next_allocation", "job_type"),
    ints=("job_version", "create_index", "modify_index", "create_time_ns", "modify_time_ns"),
)


def _allocation(d: dict, keep: Optional[Callable[[Any], Any]] = None) -> Allocation:
    g = d.get
    tracker = g("RescheduleTracker")
    return build(Allocation, _ALLOC_SHAPE.fix({
        "id": g("ID", ""), "eval_id": g("EvalID", ""), "name": g("Name", ""), "namespace": g("Namespace"),
        "node_id": g("NodeID", ""), "node_name": g("NodeName", ""), "job_id": g("JobID", ""),
        "job_version": g("JobVersion", 0), "task_group": g("TaskGroup", ""),
        "desired_status": g("DesiredStatus", ""), "desired_description": g("DesiredDescription", ""),
        "client_status": g("ClientStatus", ""), "client_description": g("ClientDescription", ""),
        "reschedule_events": _reschedule_events(tracker) if tracker else (),
        "followup_eval_id": g("FollowupEvalID", ""), "previous_allocation": g("PreviousAllocation", ""),
        "next_allocation": g("NextAllocation", ""), "create_index": g("CreateIndex", 0),
        "modify_index": g("ModifyIndex", 0), "create_time_ns": g("CreateTime", 0),
        "modify_time_ns": g("ModifyTime", 0), "job_type": g("JobType", ""),
        "task_states_raw": keep(g("TaskStates")) if keep else g("TaskStates"),
        "memory_mb": _memory_mb(g("TaskResources")),
    }))


def _memory_mb(resources: Any) -> tuple:
    if not isinstance(resources, dict):
        return ()
    return tuple(sorted((str(task), as_int(r.get("MemoryMB"))) for task, r in resources.items() if isinstance(r, dict)))


def parse_allocations(data: Any, reuse: Optional[Mapping[str, Allocation]] = None,
                      keep_task_states: Optional[Callable[[Any], Any]] = None) -> list[Allocation]:
    """GET /v1/allocations and /v1/job/:id/allocations (stubs); full allocations work too.

    `reuse`: the previous refresh's allocations by ID; one whose ModifyIndex is unchanged (every client
    update of task states bumps it) is returned as the same object, lazily parsed task states included.
    `keep_task_states`: applied to the raw TaskStates of each allocation parsed anew, to keep less of it.
    """
    out = []
    for d in top_list(data, "allocations"):
        if not isinstance(d, dict):
            continue
        if reuse:
            key = d.get("ID")
            old = reuse.get(key) if type(key) is str else None
            if old is not None and old.modify_index == d.get("ModifyIndex") and old.modify_index:
                out.append(old)
                continue
        out.append(_allocation(d, keep_task_states))
    return out


# What the Jobs screen derives from an allocation (counts, stage; the node and age in the moment before an
# opened Job detail has read its own allocations). A slim Allocation holds only these; every other field
# reads as its class default.
_SLIM_SHAPE = Shape(
    strs=("id", "job_id", "task_group", "desired_status", "client_status", "next_allocation", "node_id",
          "node_name"),
    ints=("create_index", "modify_index", "create_time_ns"),
)
_intern = sys.intern


def slim_task_states(states: Any) -> Optional[dict]:
    """TaskStates reduced to what the Jobs screen reads: per task, dtle's job_stage_* Driver events
    (Type, Time, DriverMessage; docs/reference/dtle.md §5) and Restarts when not 0; tasks with neither are left out."""
    if not isinstance(states, dict):
        return None
    slim_states = None
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        slim: dict = {}
        restarts = state.get("Restarts")
        if restarts:
            slim["Restarts"] = restarts
        events = state.get("Events")
        if isinstance(events, list):
            stage = [{"Type": "Driver", "Time": ev.get("Time"), "DriverMessage": msg} for ev in events
                     if isinstance(ev, dict) and ev.get("Type") == "Driver"
                     and type(msg := ev.get("DriverMessage")) is str and msg.startswith("job_stage_")]
            if stage:
                slim["Events"] = stage
        if state.get("Failed") is True:
            error = _task_error(state)
            if error:
                slim["LastError"] = error  # the wide Jobs screen shows a failed dest's reason
        if slim:
            if slim_states is None:
                slim_states = {}
            slim_states[name] = slim
    return slim_states


_ERROR_TYPES = ("Terminated", "Driver Failure", "Setup Failure", "Failed Validation", "Killed", "Task hook failed")


def _task_error(state: dict) -> str:
    """First line of the newest error event of a task (dtle puts its error in Terminated's Message)."""
    events = state.get("Events")
    if not isinstance(events, list):
        return ""
    for ev in reversed(events):
        if not isinstance(ev, dict) or ev.get("Type") not in _ERROR_TYPES:
            continue
        if ev.get("Type") == "Terminated" and not (ev.get("ExitCode") or ev.get("Message")):
            continue
        text = ev.get("Message") or ev.get("DriverError") or ev.get("SetupError") or ev.get("DisplayMessage")
        if isinstance(text, str) and text.strip():
            return text.strip().splitlines()[0][:200]
    return ""


def slim_last_error(alloc: Allocation) -> str:
    """The error of a failed task of the allocation (slim or full), first line; "" when none failed."""
    states = alloc.task_states_raw
    if not isinstance(states, dict):
        return ""
    for state in states.values():
        if isinstance(state, dict):
            text = state.get("LastError") or (_task_error(state) if state.get("Failed") is True else "")
            if text:
                return str(text)
    return ""


def failed_task(alloc: Allocation) -> Optional[str]:
    """The task whose last Terminated event has a non-zero exit code (it failed: read its stderr).
    A Terminated that follows Nomad's own kill (Killing, Restart Signaled: 137 from SIGKILL) is no failure."""
    for task in alloc.task_states:
        events = sorted(task.events, key=lambda ev: ev.time_ns)
        last = None
        for before, ev in zip([None] + events[:-1], events):
            if ev.type == "Terminated":
                killed = before is not None and before.type in ("Killing", "Restart Signaled", "Signaling")
                last = ev.exit_code if not killed else 0
        if last:
            return task.name
    return None


def slim_allocation(d: dict) -> Allocation:
    """One element of /v1/allocations (or an event's Allocation) kept as the Jobs screen needs it.

    About a tenth of a full one in memory (15,000 of them at 5,000 jobs). The strings most allocations
    share (group, statuses, node, job ID) are interned. Job detail and the Allocation screen read their
    own allocations whole; `task_states` of a slim one only knows restarts and stage events.
    """
    g = d.get
    values = _SLIM_SHAPE.fix({
        "id": g("ID", ""), "job_id": g("JobID", ""), "task_group": g("TaskGroup", ""),
        "desired_status": g("DesiredStatus", ""), "client_status": g("ClientStatus", ""),
        "next_allocation": g("NextAllocation", ""), "node_id": g("NodeID", ""), "node_name": g("NodeName", ""),
        "create_index": g("CreateIndex", 0), "modify_index": g("ModifyIndex", 0),
        "create_time_ns": g("CreateTime", 0),
    })
    for key in ("job_id", "task_group", "desired_status", "client_status", "node_id", "node_name"):
        values[key] = _intern(values[key])
    states = slim_task_states(g("TaskStates"))
    if states is not None:
        values["task_states_raw"] = states
    return build(Allocation, values)


def parse_allocation(data: Any) -> Allocation:
    """GET /v1/allocation/:id (the embedded Job is ignored)."""
    return _allocation(top_dict(data, "allocation"))


def alloc_role(alloc: Allocation) -> str:
    """The dtle role of an allocation: its group's name, else its tasks' names (the TaskStates keys it
    kept); "" for a group of another kind of job (a raw_exec daemon beside the migrations)."""
    role = dtle_role(alloc.task_group)
    if role:
        return role
    states = alloc.task_states_raw if isinstance(alloc.task_states_raw, dict) else {}
    return next((r for r in map(dtle_role, map(str, states)) if r), "")
