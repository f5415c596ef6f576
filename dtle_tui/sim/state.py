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
        self.events: list[tuple] = []  # (index, topic, type, key) for the 1.1.2 event stream
        self._offset_ns = 0
        self._timers: list = []
        self._seq = itertools.count()
        self._cache: dict = {}

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

    def bump(self, *tables: str, index: int | None = None) -> int:
        with self.changed:
            index = index or self.next_index()
            for table in tables:
                self.tables[table] = index
            self.changed.notify_all()
            return index

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

    def record_event(self, topic: str, kind: str, key: str, index: int) -> None:
        if self.dialect == "1.1.2":
            self.events.append((index, topic, kind, key))
            del self.events[:-500]

    # ---- allocation lifecycle primitives ----------------------------------------------------------
    def touch(self, alloc: Alloc, index: int | None = None, client: bool = True) -> int:
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
            self.record_event("Allocation", "AllocationUpdated", alloc.id, index)
            record = self.jobs.get(alloc.job_id)
            if record is not None and alloc in record.allocs:
                self.refresh_job(record, index)
            return index

    def event(self, alloc: Alloc, task: str, event: dict) -> None:
        alloc.task_states[task].add(event)

    def refresh_job(self, record: JobRecord, index: int) -> None:
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
        record.cache.clear()
        self._cache.clear()

    def summary(self, record: JobRecord) -> dict:
        groups = {}
        for group in record.job["TaskGroups"]:
            counts = {"Complete": 0, "Failed": 0, "Lost": 0, "Queued": 0, "Running": 0, "Starting": 0}
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
