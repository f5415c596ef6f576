"""Typed views of Nomad's JSON (both dialects dtle 3.x bundles: 0.11.1 and 1.1.2) and stage detection.

Parsers take decoded JSON and never raise on missing, null, wrong-typed or unknown fields: the doc
samples lack fields and the two dialects differ (reference nomad-api.md §0, §8). Only a wrong top-level
shape (a dict where a list belongs, an HTML page) raises `ParseError`.

Speed matters (5,000 jobs and 15,000 allocations per refresh), so objects are built straight from the
dicts with `dict.get`, the bulky per-allocation task states are parsed on first access only, and
`parse_job_stubs` / `parse_allocations` can hand back the previous refresh's object when its
ModifyIndex did not move (`reuse=`).

The public names live here; the pieces sit in small modules: taskevents (TaskEvent, TaskState),
endpoints (where a job copies from/to), nodes (Node, Driver), stage (stage detection), wire (coercion).
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping, Optional

from dtle_tui.endpoints import Endpoint, MigrationEndpoints, endpoints_of
from dtle_tui.nodes import Driver, Node, parse_nodes
from dtle_tui.stage import Stage, StageInfo, detect_stage, stage_timeline
from dtle_tui.taskevents import TaskEvent, TaskState, parse_task_states
from dtle_tui.wire import (
    ParseError,
    Shape,
    as_bool,
    as_dict,
    as_int,
    as_list,
    as_str,
    build,
    ns_to_datetime,
    parse_time,
    top_dict,
    top_list,
)

__all__ = [
    "ParseError", "Stage", "TaskEvent", "TaskState", "RescheduleEvent", "Allocation", "GroupSummary",
    "JobStub", "Task", "TaskGroup", "Job", "Endpoint", "MigrationEndpoints", "Driver", "Node",
    "StageInfo", "parse_job_stubs", "parse_job", "parse_job_summary", "parse_allocations",
    "parse_allocation", "parse_nodes", "detect_stage", "stage_timeline", "ns_to_datetime", "parse_time",
    "slim_allocation", "slim_task_states",
]


# ---------------------------------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class GroupSummary:
    queued: int = 0
    complete: int = 0
    failed: int = 0
    running: int = 0
    starting: int = 0
    lost: int = 0


_SUMMARY_SHAPE = Shape(ints=("queued", "complete", "failed", "running", "starting", "lost"))
# Most groups share a handful of count combinations (running=1, complete=1, ...): share the frozen
# instances instead of building 10,000 per refresh.
_SUMMARY_CACHE: dict[tuple, GroupSummary] = {}


def _group_summary(d: Any) -> GroupSummary:
    if not isinstance(d, dict):
        return GroupSummary()
    g = d.get
    key = (g("Queued", 0), g("Complete", 0), g("Failed", 0), g("Running", 0), g("Starting", 0), g("Lost", 0))
    try:
        return _SUMMARY_CACHE[key]
    except (KeyError, TypeError):  # TypeError: an unhashable junk value
        pass
    names = ("queued", "complete", "failed", "running", "starting", "lost")
    summary = build(GroupSummary, _SUMMARY_SHAPE.fix(dict(zip(names, key))))
    if len(_SUMMARY_CACHE) > 4096:
        _SUMMARY_CACHE.clear()
    if set(map(type, key)) == {int}:
        _SUMMARY_CACHE[key] = summary
    return summary


def parse_job_summary(data: Any) -> dict[str, GroupSummary]:
    """`JobSummary` (in list stubs and from /v1/job/:id/summary) -> {group: GroupSummary}."""
    summary = as_dict(top_dict(data, "job summary").get("Summary"))
    return {str(name): _group_summary(v) for name, v in summary.items()}


@dataclass(frozen=True)
class JobStub:
    """A job as GET /v1/jobs lists it, or as an event stream's Job (then `summary` is empty: the stream's
    Job carries no JobSummary; no screen reads it, the allocation counts come from the allocations)."""

    id: str
    name: str = ""
    namespace: str = "default"
    type: str = ""
    status: str = ""
    status_description: str = ""
    stop: bool = False
    datacenters: tuple[str, ...] = ()
    summary: dict[str, GroupSummary] = field(default_factory=dict, hash=False)
    create_index: int = 0
    modify_index: int = 0
    job_modify_index: int = 0
    submit_time_ns: int = 0
    priority: int = 0
    parent_id: str = ""
    summary_modify_index: int = 0

    @property
    def display_status(self) -> str:
        # A stopped, unpurged job stays listed as "running" until its allocations end (nomad-api §4.1).
        return "stopped" if self.stop else self.status

    @property
    def submit_time(self) -> Optional[datetime]:
        return ns_to_datetime(self.submit_time_ns)


_STUB_SHAPE = Shape(
    strs=("id", "name", "namespace", "type", "status", "status_description", "parent_id"),
    ints=("create_index", "modify_index", "job_modify_index", "submit_time_ns", "priority",
          "summary_modify_index"),
    bools=("stop",),
)


def _job_stub(d: dict) -> JobStub:
    g = d.get
    js = g("JobSummary")
    summary: dict[str, GroupSummary] = {}
    summary_index = 0
    # 0.11 stubs have no top-level Namespace, only JobSummary.Namespace (nomad-api §0).
    namespace = g("Namespace")
    if isinstance(js, dict):
        groups = js.get("Summary")
        if isinstance(groups, dict):
            summary = {str(k): _group_summary(v) for k, v in groups.items()}
        if not namespace:
            namespace = js.get("Namespace")
        summary_index = js.get("ModifyIndex", 0)
    dcs = g("Datacenters")
    values = _STUB_SHAPE.fix({
        "id": g("ID", ""), "name": g("Name", ""), "namespace": namespace or "default", "type": g("Type", ""),
        "status": g("Status", ""), "status_description": g("StatusDescription", ""), "stop": g("Stop", False),
        "datacenters": tuple(map(as_str, dcs)) if isinstance(dcs, list) else (), "summary": summary,
        "create_index": g("CreateIndex", 0), "modify_index": g("ModifyIndex", 0),
        "job_modify_index": g("JobModifyIndex", 0), "submit_time_ns": g("SubmitTime", 0),
        "priority": g("Priority", 0), "parent_id": g("ParentID", ""), "summary_modify_index": summary_index,
    })
    if not values["name"]:
        values["name"] = values["id"]
    return build(JobStub, values)


def parse_job_stubs(data: Any, reuse: Optional[Mapping[str, JobStub]] = None) -> list[JobStub]:
    """GET /v1/jobs. Entries that are not objects are skipped.

    `reuse`: the previous refresh's stubs by ID; an entry whose ModifyIndex and JobSummary.ModifyIndex
    are unchanged is returned as the same object (a refresh usually changes a few of 5,000 jobs).
    """
    out = []
    for d in top_list(data, "jobs"):
        if not isinstance(d, dict):
            continue
        if reuse:
            key = d.get("ID")
            old = reuse.get(key) if type(key) is str else None
            if old is not None and old.modify_index == d.get("ModifyIndex") and _summary_index(d) == (
                old.summary_modify_index
            ):
                out.append(old)
                continue
        out.append(_job_stub(d))
    return out


def _summary_index(d: dict) -> Any:
    js = d.get("JobSummary")
    return js.get("ModifyIndex", 0) if isinstance(js, dict) else 0


@dataclass(frozen=True)
class Task:
    name: str
    driver: str = ""
    config: dict = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class TaskGroup:
    name: str
    count: int = 0
    tasks: tuple[Task, ...] = ()


def _task_group(d: dict) -> TaskGroup:
    tasks = tuple(
        Task(as_str(t.get("Name")), as_str(t.get("Driver")), as_dict(t.get("Config")))
        for t in as_list(d.get("Tasks")) if isinstance(t, dict)
    )
    return TaskGroup(as_str(d.get("Name")), as_int(d.get("Count")), tasks)


@dataclass(frozen=True)
class Job:
    id: str
    name: str = ""
    namespace: str = "default"
    region: str = ""
    type: str = ""
    status: str = ""
    status_description: str = ""
    stop: bool = False
    version: int = 0
    datacenters: tuple[str, ...] = ()
    task_groups: tuple[TaskGroup, ...] = ()
    submit_time_ns: int = 0
    create_index: int = 0
    modify_index: int = 0
    job_modify_index: int = 0
    raw: dict = field(default_factory=dict, repr=False, hash=False)

    @property
    def display_status(self) -> str:
        return "stopped" if self.stop else self.status

    @functools.cached_property
    def endpoints(self) -> MigrationEndpoints:
        return endpoints_of(self.task_groups)

    def group(self, name: str) -> Optional[TaskGroup]:
        return next((g for g in self.task_groups if g.name == name), None)


def parse_job(data: Any) -> Job:
    """GET /v1/job/:id, or a job file / register body `{"Job": {...}}` (dtle's example.job.json)."""
    d = top_dict(data, "job")
    inner = d.get("Job")
    if isinstance(inner, dict) and "ID" not in d:
        d = inner
    g = d.get
    jid = as_str(g("ID"))
    return Job(
        id=jid, name=as_str(g("Name")) or jid, namespace=as_str(g("Namespace")) or "default",
        region=as_str(g("Region")), type=as_str(g("Type")), status=as_str(g("Status")),
        status_description=as_str(g("StatusDescription")), stop=as_bool(g("Stop")),
        version=as_int(g("Version")), datacenters=tuple(as_str(x) for x in as_list(g("Datacenters"))),
        task_groups=tuple(_task_group(t) for t in as_list(g("TaskGroups")) if isinstance(t, dict)),
        submit_time_ns=as_int(g("SubmitTime")), create_index=as_int(g("CreateIndex")),
        modify_index=as_int(g("ModifyIndex")), job_modify_index=as_int(g("JobModifyIndex")), raw=d,
    )


# ---------------------------------------------------------------------------------------- allocations


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
    # Delay is a string in one doc sample (fixtures/README.md: nomad_allocation.json); as_int copes.
    return tuple(
        RescheduleEvent(as_int(e.get("RescheduleTime")), as_str(e.get("PrevAllocID")),
                        as_str(e.get("PrevNodeID")), as_int(e.get("Delay")))
        for e in as_list(tracker.get("Events")) if isinstance(e, dict)
    )


_TERMINAL_CLIENT = frozenset({"complete", "failed", "lost"})


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

    @functools.cached_property
    def task_states(self) -> tuple[TaskState, ...]:
        return parse_task_states(self.task_states_raw)

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @property
    def is_terminal(self) -> bool:
        # ClientStatus is what says the tasks stopped writing to Consul (dtle.md §4 step 3).
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

        The job's Status stays "running" while tasks fail (dtle.md §6), so the task events are the
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
    }))


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
    (Type, Time, DriverMessage; dtle.md §5) and Restarts when not 0; tasks with neither are left out."""
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
        if slim:
            if slim_states is None:
                slim_states = {}
            slim_states[name] = slim
    return slim_states


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
