"""Typed views of Nomad's jobs (both dialects dtle 3.x bundles: 0.11.1 and 1.1.2).

Parsers take decoded JSON and never raise on missing, null, wrong-typed or unknown fields: the doc
samples lack fields and the two dialects differ (docs/reference/nomad-api.md §0, §8). Only a wrong top-level
shape (a dict where a list belongs, an HTML page) raises `ParseError` (wire.py).

Speed matters (5,000 jobs per refresh), so objects are built straight from the dicts with `dict.get`, and
`parse_job_stubs` can hand back the previous refresh's object when its ModifyIndex did not move (`reuse=`).
Allocations live in allocations.py, nodes in nodes.py, stage detection in stage.py.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, Optional

from dtle_tui.model.endpoints import MigrationEndpoints, endpoints_of
from dtle_tui.model.wire import (
    Shape,
    as_bool,
    as_dict,
    as_int,
    as_list,
    as_str,
    build,
    ns_to_datetime,
    top_dict,
    top_list,
)

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
        # A stopped, unpurged job stays listed as "running" until its allocations end
        # (docs/reference/nomad-api.md §4.1).
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
    # 0.11 stubs have no top-level Namespace, only JobSummary.Namespace (docs/reference/nomad-api.md §0).
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
