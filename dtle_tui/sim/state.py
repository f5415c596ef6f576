"""Cluster tables of the simulated Nomad: jobs, allocations, nodes, one raft-like index, blocking waits.

Nomad keeps one raft index and records per table the index of its last write; a blocking query returns
once the table index passes the client's `index` (nomad-api.md §3). Serialized bodies are cached per
object and per table index, so 15,000 allocations are not re-encoded on every poll.
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
import threading
import time
import uuid
from typing import Callable

from . import shapes

FROZEN_EPOCH_NS = 1_795_766_400 * shapes.SEC  # 2026-11-27T08:00:00Z, the fixed clock of frozen mode
TERMINAL = ("complete", "failed", "lost")
EVENT_BUFFER_SIZE = 100  # frames (raft entries with events): Nomad 1.1's default event_buffer_size


def dumps(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


class Node:
    def __init__(self, node_id, name, address, status, eligibility, dtle, version, registered, index):
        self.id, self.name, self.address = node_id, name, address
        self.status, self.eligibility = status, eligibility
        self.dtle = dtle  # None (no plugin) or (healthy, HealthDescription)
        self.version = version
        self.registered = registered
        self.driver_time = registered + 250_000_000
        self.create_index = self.modify_index = index
        self.streamed: bytes | None = None  # the node as the event stream last told it
        self.http_port = 4646  # of HTTPAddr: the simulated client agent's real port once it listens


class TaskRun:
    """structs.TaskState of one task in one allocation."""

    def __init__(self) -> None:
        self.state = "pending"
        self.failed = False
        self.restarts = 0
        self.last_restart = None
        self.started_at = None
        self.finished_at = None
        self.events: list[dict] = []

    def add(self, event: dict) -> None:
        self.events.append(event)
        del self.events[:-10]  # the client keeps the last 10 events per task (§4.3)


class Alloc:
    def __init__(self, dialect, job, group, node, eval_id, index, now, rng) -> None:
        self.dialect = dialect
        self.id = str(uuid.UUID(int=rng.getrandbits(128)))
        self.eval_id = eval_id
        self.job = job
        self.job_id = job["ID"]
        self.task_group = group["Name"]
        self.tasks = [t["Name"] for t in group["Tasks"]]
        self.name = f"{job['ID']}.{group['Name']}[0]"
        self.node = node
        self.desired_status, self.desired_description = "run", ""
        self.client_status, self.client_description = "pending", ""
        self.reschedule_transition = None
        self.followup_eval_id = ""
        self.reschedule_events: list[dict] = []
        self.previous_allocation = self.next_allocation = ""
        self.deployment_id = str(uuid.UUID(int=rng.getrandbits(128)))
        self.healthy = None
        self.health_index = 0
        self.health_time = 0
        self.create_index = self.modify_index = self.alloc_modify_index = index
        self.create_time = self.modify_time = now
        self.task_states = {name: TaskRun() for name in self.tasks}
        self.cache: dict = {}

    @property
    def terminal(self) -> bool:
        return self.client_status in TERMINAL

    def stub_bytes(self) -> bytes:
        if "stub" not in self.cache:
            self.cache["stub"] = dumps(shapes.alloc_stub(self.dialect, self))
        return self.cache["stub"]

    def full_bytes(self) -> bytes:
        if "full" not in self.cache:
            self.cache["full"] = dumps(shapes.alloc_full(self.dialect, self))
        return self.cache["full"]


class StreamEvent:
    """One event of the 1.1.2 stream, serialized when it happened; what subscriptions filter on."""

    __slots__ = ("topic", "key", "namespace", "filter_keys", "body")

    def __init__(self, topic: str, key: str, namespace: str, filter_keys, body: bytes) -> None:
        self.topic, self.key, self.namespace, self.filter_keys, self.body = topic, key, namespace, filter_keys, body


class JobRecord:
    def __init__(self, job: dict) -> None:
        self.job = job
        self.summary_create = job["CreateIndex"]
        self.summary_index = job["CreateIndex"]
        self.allocs: list[Alloc] = []
        self.cache: dict = {}


class ClusterState:
    def __init__(self, dialect: str, seed: int, frozen: bool) -> None:
        self.dialect = dialect
        self.frozen = frozen
        self.rng = random.Random(seed)
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._index = 0
        self.tables = {"jobs": 1, "job_summary": 1, "allocs": 1, "nodes": 1, "evals": 1}
        self.jobs: dict[str, JobRecord] = {}
        self.allocs: dict[str, Alloc] = {}
        self.nodes: list[Node] = []
        # The 1.1.2 event stream's buffer: frames (index, [StreamEvent]), one per raft transaction, oldest
        # first. Recorded once the Nomad server is up (`streaming`): nothing subscribes while the scenario
        # is being built, and Nomad's buffer after a restart does not hold history either.
        self.events: list[tuple[int, list[StreamEvent]]] = []
        self.event_buffer_size = EVENT_BUFFER_SIZE
        self.streaming = False
        self._offset_ns = 0
        self._timers: list = []
        self._seq = itertools.count()
        self._cache: dict = {}
        self.evals_by_id: dict[str, dict] = {}  # evaluations as GET /v1/evaluation/<id> answers (troubleshoot.py)

    # ---- time and scheduling ----------------------------------------------------------------------
    def now(self) -> int:
        base = FROZEN_EPOCH_NS if self.frozen else time.time_ns()
        return base + self._offset_ns

    def quick(self, seconds: float) -> float:
        """Mechanical delays (placement, kill, health) happen at once in frozen mode."""
        return 0.0 if self.frozen else seconds

    def after(self, seconds: float, action: Callable[[], None]) -> None:
        with self.lock:
            if seconds <= 0:
                action()
                return
            heapq.heappush(self._timers, (self.now() + int(seconds * shapes.SEC), next(self._seq), action))

    def tick(self) -> None:
        with self.lock:
            now = self.now()
            while self._timers and self._timers[0][0] <= now:
                _due, _seq, action = heapq.heappop(self._timers)
                action()

    def advance(self, seconds: float) -> None:
        """Move the clock forward (tests); due timers fire in order."""
        with self.lock:
            self._offset_ns += int(seconds * shapes.SEC)
        self.tick()

    # ---- indexes and blocking ---------------------------------------------------------------------
    def next_index(self) -> int:
        with self.lock:
            self._index += 1
            return self._index

    def bump(self, *tables: str, index: int | None = None, node_kind: str = "NodeEvent") -> int:
        with self.changed:
            index = index or self.next_index()
            for table in tables:
                self.tables[table] = index
            if "nodes" in tables:
                self.node_events(index, node_kind)
            self.changed.notify_all()
            return index

    def start_streaming(self) -> None:
        with self.lock:
            for node in self.nodes:
                node.streamed = dumps(shapes.node_full(self.dialect, node))
            self.streaming = True

    def node_events(self, index: int, kind: str = "NodeEvent") -> None:
        """A write to the nodes table: a Node event (the sanitized full Node) for each node it changed."""
        if not self.streaming:
            return
        for node in self.nodes:
            full = shapes.node_full(self.dialect, node)
            body = dumps(full)
            if getattr(node, "streamed", None) != body:
                node.streamed = body
                self.record_event("Node", kind, node.id, index, lambda full=full: full, namespace="")

    def forget(self) -> None:
        """Every table empty and the raft index back at the start, as a `-dev` agent started again (its
        state lived in memory only); blocked queries and streams see the low indexes from here on."""
        with self.changed:
            self._index = 0
            self.tables = {table: 1 for table in self.tables}
            self.jobs.clear()
            self.allocs.clear()
            self.nodes.clear()
            self.events.clear()
            self._timers.clear()
            self._cache.clear()
            self.changed.notify_all()

    def table_index(self, *tables: str) -> int:
        with self.lock:
            return max(self.tables[t] for t in tables)

    def wait(self, tables: tuple, index: int, timeout: float, stopping: threading.Event) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while max(self.tables[t] for t in tables) <= index and not stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self.changed.wait(min(remaining, 0.5))

    def record_event(self, topic: str, kind: str, key: str, index: int, payload: Callable[[], dict],
                     filter_keys: list | None = None, namespace: str = "default", new_frame: bool = False) -> None:
        """One event of the raft entry `index` (nomad/state/events.go@v1.1.2). `payload` is called now, so
        the event carries the object as it is at this index. Events of one transaction share a frame;
        `new_frame` starts another frame at the same index (1.1.2 writes a deregistration's eval in a
        transaction of its own after the job's)."""
        if self.dialect != "1.1.2" or not self.streaming:
            return
        event = StreamEvent(topic, key, namespace, filter_keys or (), dumps({
            "FilterKeys": filter_keys, "Index": index, "Key": key, "Namespace": namespace,
            "Payload": {topic: payload()}, "Topic": topic, "Type": kind}))
        with self.changed:
            if self.events and self.events[-1][0] == index and not new_frame:
                self.events[-1][1].append(event)
            else:
                self.events.append((index, [event]))
                del self.events[:-self.event_buffer_size]
            self.changed.notify_all()

    def job_event(self, record: JobRecord, kind: str, index: int, new_frame: bool = False) -> None:
        self.record_event("Job", kind, record.job["ID"], index, lambda: record.job, new_frame=new_frame)

    def alloc_event(self, alloc: Alloc, kind: str, index: int) -> None:
        # The full Allocation with its Job removed "to help keep size of alloc event down" (events.go).
        def payload() -> dict:
            full = dict(shapes.alloc_full(self.dialect, alloc))
            full["Job"] = None
            return full
        self.record_event("Allocation", kind, alloc.id, index, payload,
                          filter_keys=[alloc.job_id, alloc.deployment_id])

    def eval_event(self, job_id: str, eval_id: str, kind: str, triggered_by: str, index: int,
                   job_modify_index: int) -> None:
        """The evaluation a register/deregister creates (omitempty fields: only the set ones)."""
        now = self.now()
        record = self.jobs.get(job_id)
        body = {"CreateIndex": index, "CreateTime": now, "ID": eval_id, "JobID": job_id,
                "JobModifyIndex": job_modify_index, "ModifyIndex": index, "ModifyTime": now,
                "Namespace": "default", "Priority": record.job["Priority"] if record else 50,
                "Status": "pending", "TriggeredBy": triggered_by,
                "Type": record.job["Type"] if record else "service"}
        self.record_event("Evaluation", kind, eval_id, index, lambda: body, filter_keys=[job_id, ""],
                          new_frame=True)
        stored = dict(body, Status="complete", SnapshotIndex=index)
        if record is not None and kind == "JobRegistered":
            stored["QueuedAllocations"] = {g["Name"]: 0 for g in record.job["TaskGroups"]}
        self.evals_by_id[eval_id] = stored

    # ---- allocation lifecycle primitives ----------------------------------------------------------
    def touch(self, alloc: Alloc, index: int | None = None, client: bool = True, kind: str | None = None) -> int:
        """Record a change to an allocation: allocs table, its job's summary and status."""
        with self.lock:
            index = index or self.next_index()
            alloc.modify_index = index
            if not client:
                alloc.alloc_modify_index = index
            alloc.modify_time = self.now()
            alloc.cache.clear()
            self._cache.clear()
            self.bump("allocs", index=index)
            # A client's update (task states) vs the scheduler's plan (placement, desired status).
            kind = kind or ("AllocationUpdated" if client else "PlanResult")
            self.alloc_event(alloc, kind, index)
            record = self.jobs.get(alloc.job_id)
            if record is not None and alloc in record.allocs:
                self.refresh_job(record, index, kind)
            return index

    def event(self, alloc: Alloc, task: str, event: dict) -> None:
        alloc.task_states[task].add(event)

    def refresh_job(self, record: JobRecord, index: int, kind: str = "AllocationUpdated") -> None:
        """Recompute JobSummary and Status from the allocations (§4.1)."""
        job = record.job
        record.summary_index = index
        self.bump("job_summary", index=index)
        live = [a for a in record.allocs if not a.terminal]
        if any(a.client_status == "running" for a in live):
            status = "running"
        elif live:
            status = "pending"
        elif job["Stop"] or record.allocs:
            status = "dead"
        else:
            status = "pending"
        if status != job["Status"]:
            job["Status"] = status
            job["ModifyIndex"] = index
            self.bump("jobs", index=index)
            # The status is written in the same transaction as the allocation: same frame, same Type.
            self.job_event(record, kind, index)
        record.cache.clear()
        self._cache.clear()

    def summary(self, record: JobRecord) -> dict:
        groups = {}
        for group in record.job["TaskGroups"]:
            queued = getattr(record, "queued", {}).get(group["Name"], 0)  # troubleshoot.py: not placed
            counts = {"Complete": 0, "Failed": 0, "Lost": 0, "Queued": queued, "Running": 0, "Starting": 0}
            for alloc in record.allocs:
                if alloc.task_group == group["Name"]:
                    key = {"pending": "Starting", "running": "Running", "complete": "Complete",
                           "failed": "Failed", "lost": "Lost"}[alloc.client_status]
                    counts[key] += 1
            groups[group["Name"]] = counts
        return shapes.job_summary(record.job["ID"], groups, record.summary_create, record.summary_index)

    def new_alloc(self, record: JobRecord, group: dict, node: Node, eval_id: str, index: int,
                  created: int | None = None) -> Alloc:
        with self.lock:
            alloc = Alloc(self.dialect, record.job, group, node, eval_id, index, created or self.now(), self.rng)
            self.allocs[alloc.id] = alloc
            record.allocs.append(alloc)
            self.touch(alloc, index, client=False)
            return alloc

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128)))

    # ---- cached bodies ----------------------------------------------------------------------------
    def job_stub_bytes(self, record: JobRecord) -> bytes:
        if "stub" not in record.cache:
            stub = shapes.job_stub(self.dialect, record.job, self.summary(record))
            record.cache["stub"] = dumps(stub)
        return record.cache["stub"]

    def job_bytes(self, record: JobRecord) -> bytes:
        if "full" not in record.cache:
            record.cache["full"] = dumps(record.job)
        return record.cache["full"]

    def cached(self, key: tuple, build: Callable[[], bytes]) -> bytes:
        """Whole-list bodies, dropped on every write (key includes the query parameters)."""
        with self.lock:
            body = self._cache.get(key)
            if body is None:
                body = build()
                self._cache[key] = body
            return body
