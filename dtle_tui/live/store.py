"""The poller's copy of Nomad's job, allocation and node lists, by ID, and which jobs changed.

Filled by full reads (GET /v1/jobs, /v1/allocations, /v1/nodes) and kept current by the event stream
(eventstream.py) or by the same reads as blocking queries. Both sources can deliver an object older
than the one held (a stream resumed at an earlier index replays what a read already brought; a read
answered while events kept arriving), so a write never replaces an object by one with a lower
ModifyIndex. What changed is recorded per job ID, so the snapshot rebuilds only those rows.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Optional

from dtle_tui.model.allocations import Allocation
from dtle_tui.model.jobs import GroupSummary, JobStub
from dtle_tui.model.nodes import Node


class NomadStore:
    def __init__(self) -> None:
        self.jobs: dict[str, JobStub] = {}  # in the order Nomad lists them; new ones at the end
        self.allocs: dict[str, Allocation] = {}
        self.by_job: dict[str, dict[str, Allocation]] = {}
        self.nodes: dict[str, Node] = {}
        self.changed: set[str] = set()  # job IDs whose stub or allocations changed since take_changes()
        self.reordered = False  # a job appeared or went away
        self.nodes_changed = False

    def take_changes(self) -> tuple[set[str], bool]:
        changed, reordered = self.changed, self.reordered
        self.changed, self.reordered = set(), False
        return changed, reordered

    def allocations_of(self, job_id: str) -> list[Allocation]:
        return list(self.by_job.get(job_id, {}).values())

    def clear(self) -> None:
        """Nomad's state was reset: nothing held is true any more (an old object whose ModifyIndex is above
        the new, low indexes would otherwise be kept beside the new ones for good: ghost allocations)."""
        self.changed.update(self.jobs, self.by_job)
        self.reordered = self.reordered or bool(self.jobs)
        self.nodes_changed = self.nodes_changed or bool(self.nodes)
        self.jobs, self.allocs, self.by_job, self.nodes = {}, {}, {}, {}

    # ---- full reads: the answer is the truth, except for what events brought after it ---------------
    def load_jobs(self, stubs: Iterable[JobStub], read_index: int) -> None:
        old = self.jobs
        new: dict[str, JobStub] = {}
        for stub in stubs:
            if stub.id in new:  # listed twice (a broken proxy or cache): the first one counts
                continue
            held = old.get(stub.id)
            new[stub.id] = held if held is not None and _newer(held, stub) else stub
        for job_id, held in old.items():
            if job_id not in new and read_index and held.modify_index > read_index:
                new[job_id] = held  # arrived by event after the read was answered
        self._mark_jobs(old, new)
        self.jobs = new

    def load_allocations(self, allocs: Iterable[Allocation], read_index: int) -> None:
        old = self.allocs
        allocs = list(allocs)
        if len(allocs) == len(old) and all(old.get(a.id) is a for a in allocs) and \
                len({a.id for a in allocs}) == len(old):
            return  # exactly the objects held (Nomad 0.11 re-reading an unchanged list): nothing moved
        new: dict[str, Allocation] = {}
        for alloc in allocs:
            held = old.get(alloc.id)
            new[alloc.id] = held if held is not None and _newer(held, alloc) else alloc
        for alloc_id, held in old.items():
            if alloc_id not in new and read_index and held.modify_index > read_index:
                new[alloc_id] = held
        changed = self.changed
        by_job: dict[str, dict[str, Allocation]] = {}
        for alloc in new.values():
            by_job.setdefault(alloc.job_id, {})[alloc.id] = alloc
        for job_id in by_job.keys() | self.by_job.keys():
            before, after = self.by_job.get(job_id), by_job.get(job_id)
            if before is None or after is None or len(before) != len(after) or any(
                    before.get(k) is not v for k, v in after.items()):
                changed.add(job_id)
        self.allocs, self.by_job = new, by_job

    def load_nodes(self, nodes: Iterable[Node], read_index: int) -> None:
        old = self.nodes
        new: dict[str, Node] = {}
        for node in nodes:
            held = old.get(node.id)
            new[node.id] = held if held is not None and held.modify_index > node.modify_index else node
        for node_id, held in old.items():
            if node_id not in new and read_index and held.modify_index > read_index:
                new[node_id] = held
        if list(new.values()) != list(old.values()):
            self.nodes_changed = True
        self.nodes = new

    def _mark_jobs(self, old: dict, new: dict) -> None:
        if old.keys() != new.keys():
            self.reordered = True
        changed = self.changed
        for job_id, stub in new.items():
            if old.get(job_id) is not stub:
                changed.add(job_id)
        changed.update(k for k in old if k not in new)

    # ---- single objects from events ---------------------------------------------------------------
    def put_job(self, stub: JobStub) -> bool:
        held = self.jobs.get(stub.id)
        if held is not None and _newer(held, stub):
            return False
        if held is None:
            self.reordered = True
        elif not stub.summary and held.summary:
            # The stream's Job carries no JobSummary: keep what the list said (Queued, for the Jobs screen).
            stub = dataclasses.replace(stub, summary=held.summary, summary_modify_index=held.summary_modify_index)
        self.jobs[stub.id] = stub
        self.changed.add(stub.id)
        return True

    def put_queued(self, job_id: str, queued: dict) -> None:
        """QueuedAllocations of a finished evaluation: allocations of each group still waiting for a node."""
        held = self.jobs.get(job_id)
        if held is None:
            return
        summary = dict(held.summary)
        for group, count in queued.items():
            if isinstance(count, int) and not isinstance(count, bool):
                summary[str(group)] = dataclasses.replace(summary.get(str(group), GroupSummary()), queued=count)
        if summary != held.summary:
            self.jobs[job_id] = dataclasses.replace(held, summary=summary)
            self.changed.add(job_id)

    def drop_job(self, job_id: str) -> None:
        """A purged job. Its allocations stay until Nomad garbage-collects them (a full read drops them)."""
        if self.jobs.pop(job_id, None) is not None:
            self.reordered = True
            self.changed.add(job_id)

    def put_allocation(self, alloc: Allocation) -> bool:
        held = self.allocs.get(alloc.id)
        if held is not None and (held is alloc or _newer(held, alloc)):
            return False
        if held is not None and held.job_id != alloc.job_id:
            self._unlink(held)
        self.allocs[alloc.id] = alloc
        self.by_job.setdefault(alloc.job_id, {})[alloc.id] = alloc
        self.changed.add(alloc.job_id)
        return True

    def _unlink(self, alloc: Allocation) -> None:
        allocs = self.by_job.get(alloc.job_id)
        if allocs is not None:
            allocs.pop(alloc.id, None)
            if not allocs:
                del self.by_job[alloc.job_id]
        self.changed.add(alloc.job_id)

    def put_node(self, node: Node) -> bool:
        held = self.nodes.get(node.id)
        if held is not None and held.modify_index > node.modify_index:
            return False
        self.nodes[node.id] = node
        self.nodes_changed = True
        return True

    def drop_node(self, node_id: str) -> None:
        if self.nodes.pop(node_id, None) is not None:
            self.nodes_changed = True

    def held_allocation(self, alloc_id: Optional[str]) -> Optional[Allocation]:
        return self.allocs.get(alloc_id) if isinstance(alloc_id, str) else None


def _newer(held, incoming) -> bool:
    """The held object is strictly newer than the incoming one (same ID): keep it."""
    return held.modify_index > incoming.modify_index
