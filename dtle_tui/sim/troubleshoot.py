"""Evaluations, task stats, restart / stop allocation, node eligibility and drain (real-nomad/TROUBLESHOOTING.md).

Shapes are the recorded ones: evaluations omitempty (zero fields missing; 0.11's blocked evaluation has no
FailedTGAllocs), restart's `{"Index":0}` without X-Nomad headers, the 500 texts of unknown tasks, dead
allocations and unknown nodes, drains that complete and leave the node ineligible. `add_troubles` adds
the demo's story (scenario.add_troubles): a job whose dest cannot be placed because the only node of its
datacenter with a healthy dtle driver is draining.
"""

from __future__ import annotations

import json

from . import shapes
from .server import JSON, Request, Response, text
from .state import Alloc, ClusterState, JobRecord, Node, dumps
from .taskstats import alloc_stats

S = shapes.SEC


# ---- evaluations ------------------------------------------------------------------------------------

def _omit(d: dict) -> dict:
    return {k: v for k, v in d.items() if v not in ("", 0, None, False, {}, [])}


def add_eval(st: ClusterState, record: JobRecord, triggered_by: str, status: str = "complete",
             eval_id: str | None = None, job_index: bool = True, kind: str = "EvaluationUpdated", **fields) -> dict:
    """Store an evaluation as GET /v1/evaluation/<id> answers it; 1.1.2 streams it (Evaluation topic)."""
    with st.lock:
        index = st.next_index()
        now = st.now()
        job = record.job
        body = {"ID": eval_id or st.uuid(), "Namespace": "default", "Priority": job["Priority"],
                "Type": job["Type"], "TriggeredBy": triggered_by, "JobID": job["ID"],
                "JobModifyIndex": job["JobModifyIndex"], "Status": status, "SnapshotIndex": index,
                "CreateIndex": index, "ModifyIndex": index, "CreateTime": now, "ModifyTime": now}
        body.update(fields)
        if not job_index:  # evaluations not made by a job write (node-drain, their blocked ones) lack it
            body.pop("JobModifyIndex")
        body = _omit(body)
        for key in ("QueuedAllocations", "FailedTGAllocs"):  # {"src": 0} is kept: a map is not omitted
            if key in fields and fields[key] is not None:
                body[key] = fields[key]
        evals(st)[body["ID"]] = body
        st.bump("evals", index=index)
        st.record_event("Evaluation", kind, body["ID"], index, lambda: dict(body),
                        filter_keys=[job["ID"], body.get("DeploymentID", "")])
        return body


def evals(st: ClusterState) -> dict:
    return st.evals_by_id


def alloc_metric(dialect: str, available: dict, evaluated: int, filtered: int, constraint: dict | None,
                 exhausted: int = 0, dimension: dict | None = None, resources: dict | None = None) -> dict:
    metric = {"NodesEvaluated": evaluated, "NodesFiltered": filtered, "NodesAvailable": available,
              "ClassFiltered": None, "ConstraintFiltered": constraint, "NodesExhausted": exhausted,
              "ClassExhausted": None, "DimensionExhausted": dimension, "QuotaExhausted": None}
    if dialect == "1.1.2":
        metric["ResourcesExhausted"] = resources
    metric.update({"Scores": None, "ScoreMetaData": None, "AllocationTime": 4540, "CoalescedFailures": 0})
    return metric


def seed_evals(st: ClusterState) -> None:
    """The job-register evaluation of every job built by the scenario (the one its allocations name)."""
    for record in st.jobs.values():
        if record.allocs and record.allocs[0].eval_id not in evals(st):
            groups = {g["Name"]: 0 for g in record.job["TaskGroups"]}
            add_eval(st, record, "job-register", eval_id=record.allocs[0].eval_id,
                     DeploymentID=record.allocs[0].deployment_id, QueuedAllocations=groups)


# ---- the story ----------------------------------------------------------------------------------------

def unplaced(st: ClusterState, record: JobRecord, trigger: str, **metric) -> None:
    """An evaluation that could not place every group, and the blocked evaluation it leaves waiting."""
    failed = {group: alloc_metric(st.dialect, **metric) for group, n in record.queued.items() if n}
    queued = {g["Name"]: record.queued.get(g["Name"], 0) for g in record.job["TaskGroups"]}
    blocked_id = st.uuid()
    by_job = trigger == "job-register"
    deployment = record.allocs[0].deployment_id if record.allocs else ""
    first = add_eval(st, record, trigger, job_index=by_job, DeploymentID=deployment, FailedTGAllocs=failed,
                     QueuedAllocations=queued, BlockedEval=blocked_id)
    extra = {"FailedTGAllocs": failed} if st.dialect == "1.1.2" else {}
    if by_job:  # recorded on the job-register's blocked evaluation; the node-drain one had none
        extra["ClassEligibility"] = {"v1:12860490090382095868": True}
    add_eval(st, record, "queued-allocs", status="blocked", eval_id=blocked_id, job_index=by_job,
             StatusDescription="created to place remaining allocations", PreviousEval=first["ID"],
             **extra)


def unblock(st: ClusterState, driver, cluster) -> None:
    """A node turned eligible: blocked evaluations place what they can."""
    for record in list(st.jobs.values()):
        queued = getattr(record, "queued", None)
        if not queued or not any(queued.values()):
            continue
        node = place_on(st, record)
        if node is None:
            continue
        blocked = [e for e in evals(st).values() if e.get("JobID") == record.job["ID"] and e["Status"] == "blocked"]
        for ev in blocked:
            ev.update(Status="complete", ModifyIndex=st.next_index(), ModifyTime=st.now())
        none_queued = {g["Name"]: 0 for g in record.job["TaskGroups"]}
        placed = add_eval(st, record, "queued-allocs", job_index=False, QueuedAllocations=none_queued,
                          DeploymentID=record.allocs[0].deployment_id if record.allocs else "")
        for group in record.job["TaskGroups"]:
            for _ in range(queued.get(group["Name"], 0)):
                alloc = st.new_alloc(record, group, node, placed["ID"], st.next_index())
                st.after(st.quick(1.2), lambda a=alloc: driver.start(a))
        record.queued = {}
        st.refresh_job(record, st.next_index())


def place_on(st: ClusterState, record: JobRecord) -> Node | None:
    dcs = record.job.get("Datacenters") or ["dc1"]
    for node in st.nodes:
        if (node.status == "ready" and node.eligibility == "eligible" and node.dtle and node.dtle[0]
                and getattr(node, "datacenter", "dc1") in dcs):
            return node
    return None


# ---- nodes: eligibility and drain ------------------------------------------------------------------

def node_event(st: ClusterState, node: Node, message: str, subsystem: str, index: int,
               details: dict | None = None) -> None:
    if not hasattr(node, "extra_events"):
        node.extra_events = []
    node.extra_events.append({"CreateIndex": index, "Details": details, "Message": message,
                              "Subsystem": subsystem, "Timestamp": shapes.rfc3339nano(st.now())})
    del node.extra_events[:-9]


def start_drain(st: ClusterState, node: Node, deadline_ns: int, started: int | None = None, driver=None) -> int:
    """Drain: the node turns ineligible at once; at the deadline its allocations are stopped and placed
    elsewhere when a node fits (else they queue, with the node-drain evaluation saying why)."""
    index = st.next_index()
    start = started or st.now()
    node.drain = True
    node.drain_strategy = {"Deadline": deadline_ns, "ForceDeadline": shapes.rfc3339nano(start + deadline_ns),
                           "IgnoreSystemJobs": False, "StartedAt": shapes.rfc3339nano(start)}
    node.eligibility = "ineligible"
    stamp = shapes.rfc3339nano(start // S * S)
    node.last_drain = {"AccessorID": "", "Meta": None, "StartedAt": stamp, "Status": "draining", "UpdatedAt": stamp}
    node.modify_index = index
    node_event(st, node, "Node drain strategy set", "Drain", index)
    node.drain_seq = getattr(node, "drain_seq", 0) + 1
    seq = node.drain_seq
    remaining = (start + deadline_ns - st.now()) / S
    st.after(max(0.0, remaining), lambda: finish_drain(st, node, seq, "complete", driver))
    st.bump("nodes", index=index, node_kind="NodeDrain")
    return index


def finish_drain(st: ClusterState, node: Node, seq: int, status: str, driver=None) -> int:
    with st.lock:
        if not getattr(node, "drain", False) or getattr(node, "drain_seq", 0) != seq:
            return 0
        index = st.next_index()
        node.drain, node.drain_strategy = False, None
        if getattr(node, "last_drain", None):
            node.last_drain = dict(node.last_drain, Status=status,
                                   UpdatedAt=shapes.rfc3339nano(st.now() // S * S))
        if status == "complete":
            if driver is not None:
                migrate_off(st, node, driver)
            node_event(st, node, "Node drain complete", "Drain", index, {"deadline_reached": "true"})
            node_event(st, node, "Node drain complete", "Drain", index)
        else:
            node_event(st, node, "Node drain disabled", "Drain", index)
        node.modify_index = index
        st.bump("nodes", index=index, node_kind="NodeDrain")
        return index


def migrate_off(st: ClusterState, node: Node, driver) -> None:
    """The drain's deadline: stop what still runs on the node, place it on another node of the job's
    datacenters with a healthy dtle driver, or leave it queued behind a node-drain evaluation."""
    moved: dict[str, list] = {}
    for alloc in list(st.allocs.values()):
        if alloc.node is node and not alloc.terminal and alloc.desired_status == "run":
            alloc.migrate_transition = True
            alloc.desired_status, alloc.desired_description = "stop", "alloc is being migrated"
            st.touch(alloc, client=False, kind="AllocationUpdateDesiredStatus")
            st.after(st.quick(1.0), lambda a=alloc: driver.killed(a))
            moved.setdefault(alloc.job_id, []).append(alloc)
    for job_id, allocs in moved.items():
        record = st.jobs.get(job_id)
        if record is None or record.job["Stop"]:
            continue
        target = place_on(st, record)
        deployment = allocs[0].deployment_id
        if target is None:
            queued = getattr(record, "queued", None) or {}
            for alloc in allocs:
                queued[alloc.task_group] = queued.get(alloc.task_group, 0) + 1
            record.queued = queued
            dcs = record.job.get("Datacenters") or ["dc1"]
            eligible = [n for n in st.nodes if n.status == "ready" and n.eligibility == "eligible"
                        and getattr(n, "datacenter", "dc1") in dcs]
            available = {dc: sum(1 for n in eligible if getattr(n, "datacenter", "dc1") == dc) for dc in dcs}
            unplaced(st, record, "node-drain", available=available, evaluated=len(eligible), filtered=len(eligible),
                     constraint={"missing drivers": len(eligible)} if eligible else None)
        else:
            ev = add_eval(st, record, "node-drain", job_index=False, DeploymentID=deployment,
                          QueuedAllocations={g["Name"]: 0 for g in record.job["TaskGroups"]})
            for alloc in allocs:
                group = next(g for g in record.job["TaskGroups"] if g["Name"] == alloc.task_group)
                new = st.new_alloc(record, group, target, ev["ID"], st.next_index())
                new.previous_allocation, alloc.next_allocation = alloc.id, new.id
                st.after(st.quick(1.2), lambda a=new: driver.start(a))
        st.refresh_job(record, st.next_index())


def _write_answer(index: int, body: dict) -> Response:
    return Response(200, json.dumps(body, separators=(",", ":")).encode(), JSON, {"X-Nomad-Index": str(index)})


def _body(request: Request) -> tuple[dict | None, str]:
    try:
        value = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        text_ = (request.body or b"").decode("utf-8", "replace").strip()
        char = next((c for c in text_[1:] if not c.isspace()), "")
        return None, f"invalid character '{char}' looking for beginning of object key string"
    return (value if isinstance(value, dict) else {}), ""


class TroubleshootApi:
    """The routes of this module, asked first by NomadApi; None means "not mine"."""

    def __init__(self, api) -> None:
        self.api = api
        self.state: ClusterState = api.state
        self.dialect = api.dialect
        self.writes: list[tuple[str, str, bytes]] = []  # (method, path, body) of the repair writes (tests)

    def route(self, request: Request) -> Response | None:
        path = request.path
        if request.method in ("PUT", "POST") and path.endswith(("/restart", "/stop", "/eligibility", "/drain")):
            self.writes.append((request.method, path, request.body or b""))
        if path.startswith("/v1/job/") and path.endswith("/evaluations"):
            return self._get(request) or self.job_evaluations(request, path[len("/v1/job/"):-len("/evaluations")])
        if path.startswith("/v1/evaluation/"):
            return self._get(request) or self.evaluation(request, path[len("/v1/evaluation/"):])
        if path.startswith("/v1/client/allocation/"):
            alloc_id, _, action = path[len("/v1/client/allocation/"):].partition("/")
            if action == "stats":
                return self._get(request) or self.stats(request, alloc_id)
            if action == "restart":  # any method, even GET (recorded)
                return self.api._acl(request) or self.restart(request, alloc_id)
            return None
        if path.startswith("/v1/allocation/") and path.endswith("/stop"):
            if request.method not in ("PUT", "POST"):
                return text(405, "Invalid method")
            return self.api._acl(request) or self.stop(request, path[len("/v1/allocation/"):-len("/stop")])
        if path.startswith("/v1/node/") and path.endswith(("/eligibility", "/drain")):
            node_id, _, action = path[len("/v1/node/"):].partition("/")
            if request.method not in ("PUT", "POST"):
                return text(405, "Invalid method")
            denied = self.api._acl(request)
            if denied:
                return denied
            return self.eligibility(request, node_id) if action == "eligibility" else self.drain(request, node_id)
        return None

    def _get(self, request: Request) -> Response | None:
        return self.api._get_only(request)

    # ---- reads --------------------------------------------------------------------------------------
    def job_evaluations(self, request: Request, job_id: str) -> Response:
        def build():
            mine = [e for e in evals(self.state).values() if e.get("JobID") == job_id]
            mine.sort(key=lambda e: e["CreateIndex"], reverse=True)  # newest first
            return dumps(mine)
        return self.api._read(request, ("evals",), build)

    def evaluation(self, request: Request, eval_id: str) -> Response:
        eval_id, _, sub = eval_id.partition("/")
        if len(eval_id) != 36:
            return text(500, "eval lookup failed: index error: UUID must be 36 characters")

        def build():
            ev = evals(self.state).get(eval_id)
            if sub == "allocations":
                return dumps([])
            return dumps(ev) if ev else text(404, "eval not found")
        return self.api._read(request, ("evals",), build)

    def stats(self, request: Request, alloc_id: str) -> Response:
        if len(alloc_id) != 36:
            return text(500, "alloc lookup failed: index error: UUID must be 36 characters")
        with self.state.lock:
            alloc = self.state.allocs.get(alloc_id)
            if alloc is None:
                return text(404, f'Unknown allocation "{alloc_id}"')
            only = request.arg("task")
            body = alloc_stats(self.state, alloc, only)
        return Response(200, body, JSON)

    # ---- writes ------------------------------------------------------------------------------------
    def restart(self, request: Request, alloc_id: str) -> Response:
        if len(alloc_id) != 36:
            return text(500, "alloc lookup failed: index error: UUID must be 36 characters")
        body, error = _body(request)
        if body is None:
            return text(500, error)
        st = self.state
        with st.lock:
            alloc = st.allocs.get(alloc_id)
            if alloc is None:
                return text(404, f'Unknown allocation "{alloc_id}"')
            task = next((v for k, v in body.items() if k.lower() == "taskname"), "") or ""
            if alloc.terminal:
                return text(500, "1 error occurred:\n\t* Task not running\n\n")
            if task and task not in alloc.task_states:
                return text(500, f"Could not find task runner for task: {task}")
            for name in [task] if task else alloc.tasks:
                restart_task(st, alloc, name)
            st.touch(alloc)
        return Response(200, b'{"Index":0}', JSON)  # no X-Nomad-* headers (recorded)

    def stop(self, request: Request, alloc_id: str) -> Response:
        if len(alloc_id) != 36:
            return text(500, "alloc lookup failed: index error: UUID must be 36 characters")
        st, cluster = self.state, self.api.cluster
        with st.lock:
            alloc = st.allocs.get(alloc_id)
            if alloc is None:
                return text(404, "allocation not found")
            record = st.jobs.get(alloc.job_id)
            replace = (not alloc.terminal or alloc.desired_status == "run") and not alloc.next_allocation
            if replace:
                # One transaction: the allocation's desired transition and the eval (AllocationUpdateDesiredStatus)
                alloc.migrate_transition = True
                alloc.desired_status, alloc.desired_description = "stop", "alloc is being migrated"
                st.touch(alloc, client=False, kind="AllocationUpdateDesiredStatus")
                st.after(st.quick(1.0), lambda: cluster.driver.killed(alloc))
            ev = add_eval(st, record, "alloc-stop", kind="AllocationUpdateDesiredStatus",
                          DeploymentID=alloc.deployment_id, QueuedAllocations={alloc.task_group: 0}) \
                if record else {"ID": st.uuid(), "CreateIndex": st.next_index()}
            if replace and record is not None and not record.job["Stop"]:
                group = next(g for g in record.job["TaskGroups"] if g["Name"] == alloc.task_group)
                node = place_on(st, record) or alloc.node
                new = st.new_alloc(record, group, node, ev["ID"], st.next_index())
                new.previous_allocation = alloc.id
                alloc.next_allocation = new.id
                st.touch(alloc, client=False)
                st.after(st.quick(1.2), lambda a=new: cluster.driver.start(a))
            index = ev["CreateIndex"]
        return _write_answer(index, {"EvalID": ev["ID"], "Index": index})

    def eligibility(self, request: Request, node_id: str) -> Response:
        body, _error = _body(request)
        if body is None:
            return text(400, _error)
        value = next((v for k, v in body.items() if k.lower() == "eligibility"), "")
        st = self.state
        with st.lock:
            node = next((n for n in st.nodes if n.id == node_id), None)
            if node is None:
                return text(500, "node not found")
            if value not in ("eligible", "ineligible"):
                return text(500, f'invalid scheduling eligibility "{value}"')
            if value == "eligible" and getattr(node, "drain", False):
                # nomad/node_endpoint.go UpdateEligibility: a draining node stays ineligible until the drain ends
                return text(500, "can not set node's scheduling eligibility to eligible while it is draining")
            if node.eligibility == value:
                return _write_answer(0, {"NodeModifyIndex": 0, "EvalIDs": None, "EvalCreateIndex": 0, "Index": 0})
            index = st.next_index()
            node.eligibility = value
            node.modify_index = index
            word = "eligible" if value == "eligible" else "ineligible"
            node_event(st, node, f"Node marked as {word} for scheduling", "Cluster", index)
            st.bump("nodes", index=index, node_kind="NodeDrain")  # eligibility changes stream as NodeDrain
            if value == "ineligible":
                return _write_answer(index, {"NodeModifyIndex": 0, "EvalIDs": None, "EvalCreateIndex": 0,
                                             "Index": index})
            eval_ids = [st.uuid() for _ in st.jobs]
            unblock(st, self.api.cluster.driver, self.api.cluster)
            return _write_answer(index, {"NodeModifyIndex": 0, "EvalIDs": eval_ids, "EvalCreateIndex": index + 1,
                                         "Index": index})

    def drain(self, request: Request, node_id: str) -> Response:
        body, error = _body(request)
        if body is None:
            return text(400, error)
        spec = next((v for k, v in body.items() if k.lower() == "drainspec"), None)
        st = self.state
        with st.lock:
            node = next((n for n in st.nodes if n.id == node_id), None)
            if node is None:
                return text(500, "node not found")
            if isinstance(spec, dict):
                deadline = next((v for k, v in spec.items() if k.lower() == "deadline"), 0)
                index = start_drain(st, node, int(deadline or 0), driver=self.api.cluster.driver)
            else:
                index = finish_drain(st, node, getattr(node, "drain_seq", 0), "canceled") or st.table_index("nodes")
        return _write_answer(index, {"NodeModifyIndex": index, "EvalIDs": None, "EvalCreateIndex": 0, "Index": index})


def restart_task(st: ClusterState, alloc: Alloc, task: str) -> None:
    """Restart Signaled -> Terminated (137, 9) -> Restarting -> Started, in place (recorded)."""
    run = alloc.task_states[task]
    t = st.now()
    reason = "User requested restart"
    signaled = shapes.task_event("Restart Signaled", t, {"restart_reason": reason}, RestartReason=reason)
    signaled["DisplayMessage"] = reason
    run.add(signaled)
    run.add(shapes.task_event("Terminated", t + 5 * S, {"exit_code": "137", "oom_killed": "false", "signal": "9"},
                              ExitCode=137, Signal=9))
    run.add(shapes.task_event("Restarting", t + 5 * S + 20_000_000, {"restart_reason": "", "start_delay": "0"}))
    run.add(shapes.task_event("Started", t + 5 * S + 33_000_000))
    run.restarts += 1
    run.last_restart = t + 5 * S + 20_000_000
    run.state = "running"
