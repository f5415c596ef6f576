"""The Jobs rows: one frozen JobRow per job, derived from its stub, allocations, position and progress.

RowBook keeps the rows between snapshots and rebuilds only the jobs the store says changed (and those
whose stall mark falls due), so a change to one allocation at 5,000 jobs costs one row, not 5,000.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Callable, Iterable, Mapping, Optional

from dtle_tui.live.snapshot import AllocCounts, JobRow
from dtle_tui.model.allocations import Allocation, alloc_role, dtle_role, slim_allocation, slim_last_error
from dtle_tui.model.gtid import GtidProgress, JobPosition
from dtle_tui.model.jobs import JobStub
from dtle_tui.model.monitor import JobProgress
from dtle_tui.model.nodes import Node
from dtle_tui.model.stage import Stage, detect_stage
from dtle_tui.model.verdict import SEC, SETTLE_S, VerdictKind, job_verdict, slim_task_state


def row_allocation(d: dict) -> Allocation:
    """One element of the allocation list as the rows keep it: slim (model.allocations.slim_allocation),
    with each task's state reduced to what its verdict reads (model.verdict.slim_task_state: State,
    Failed, Restarts and the few event types the verdict and the stage reached need)."""
    alloc = slim_allocation(d)
    states = d.get("TaskStates")
    if not isinstance(states, dict):
        return alloc
    held = alloc.task_states_raw if isinstance(alloc.task_states_raw, dict) else {}
    slim: dict = {}
    for name, state in states.items():
        kept = slim_task_state(state)
        if kept is None:
            continue
        error = held.get(name, {}).get("LastError")
        if error:
            kept["LastError"] = error  # the wide Jobs screen's failed dest (dest_error)
        slim[name] = kept
    return dataclasses.replace(alloc, task_states_raw=slim or None)


Others = tuple  # ((group name, AllocCounts), …) of the groups not named as a dtle role, by name


def count_allocations(allocs: Iterable[Allocation]) -> tuple[AllocCounts, AllocCounts, Others]:
    """Counts of the allocations that matter now: desired `run`, or terminal but failed/lost. src and dest
    by dtle role; a group of another kind (a job of another driver) under its own name, never as dest."""
    buckets: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for alloc in allocs:
        role = alloc_role(alloc)
        # "=": a group's own name, never mistaken for a role; the group is known even with nothing counted.
        counted = buckets[role or "=" + alloc.task_group]
        # A stopped job's old allocations are history, not health: count only what Nomad still runs
        # or what failed and was not replaced (desired status still `run`).
        if alloc.desired_status != "run" and alloc.client_status not in ("failed", "lost"):
            if alloc.client_status == "complete":
                counted["complete"] += 1
            continue
        if alloc.desired_status != "run" and alloc.next_allocation:
            continue
        counted[alloc.client_status] += 1

    def counts(b: Mapping[str, int]) -> AllocCounts:
        return AllocCounts(running=b.get("running", 0), pending=b.get("pending", 0), failed=b.get("failed", 0),
                           lost=b.get("lost", 0), complete=b.get("complete", 0))

    others = tuple((g[1:], counts(b)) for g, b in sorted(buckets.items()) if g.startswith("="))
    return counts(buckets.get("src", {})), counts(buckets.get("dest", {})), others


def build_row(
    stub: JobStub,
    allocs: list[Allocation],
    pos: Optional[JobPosition],
    prog: Optional[GtidProgress],
    now: float,
    stall_threshold_s: float,
    consul_ok: bool,
    cache: Optional[dict] = None,
    nodes: Optional[Mapping[str, Node]] = None,
    placement: str = "",
    frozen_delay_s: Optional[int] = None,
) -> JobRow:
    """One job's row. `cache` (job ID -> derived counts and stage) skips the work when the job's
    allocations are the same objects as last time: the parser and the poller's store hand back unchanged
    allocations as the very same objects. `nodes` by ID (a node down, its dtle driver unhealthy) and
    `placement` (why its queued allocations wait, live/placement.py) go into the verdict, and so does
    `frozen_delay_s`: dtle's delay says its queue is stuck (model.stall.queue_stuck, from dtle's figures
    of the rows in view)."""
    key = tuple(map(id, allocs))
    hit = cache.get(stub.id) if cache is not None else None
    if hit is not None and hit[0] == key:
        src, dest, others, info = hit[1], hit[2], hit[3], hit[4]
    else:
        src, dest, others = count_allocations(allocs)
        info = detect_stage(allocs)
        if cache is not None:
            # The allocations are kept in the entry, so their ids cannot be reused meanwhile.
            cache[stub.id] = (key, src, dest, others, info, allocs)
    if stub.summary:
        src, dest, others = with_queued(stub, src, dest, others)
    if not consul_ok:
        pos = None
    running = dest.running > 0 and src.running > 0
    stalled = bool(
        consul_ok
        and prog is not None
        and info.stage is Stage.INCREMENTAL
        and running
        and not stub.stop
        and prog.is_stalled(now, stall_threshold_s)
    )
    since = stalled_since(prog, stall_threshold_s) if stalled else None
    # dtle's word needs no Consul: its delay stayed put over its own ticks while its Gtid stood still.
    frozen = frozen_delay_s if info.stage is Stage.INCREMENTAL and running and not stub.stop else None
    verdict = job_verdict(stub, allocs, int(now * SEC), nodes=nodes, placement=placement,
                          stalled_since_ns=since, frozen_delay_s=frozen)
    return JobRow(
        id=stub.id,
        status=stub.display_status,
        stage=info.stage,
        stage_since_ns=info.since_ns,
        src=src,
        dest=dest,
        others=others,
        transactions=(pos.gtid.transactions if pos and pos.gtid is not None else None),
        gtid_text=(pos.gtid_text if pos else None),
        binlog=(str(pos.binlog) if pos and pos.binlog else None),
        rate=(prog.rate() if prog and consul_ok else None),
        stalled=stalled,
        submit_time_ns=stub.submit_time_ns,
        stop=stub.stop,
        last_error=dest_error(allocs) if not dest.healthy else "",
        verdict=verdict,
        stalled_since_ns=since if verdict.kind is VerdictKind.STALLED else None,
        recheck_at=now + SETTLE_S if verdict.kind is VerdictKind.FAILING and verdict.next_try_ns is None else 0.0,
    )


def stalled_since(prog: Optional[GtidProgress], threshold_s: float) -> Optional[int]:
    """When the Gtid last moved (or was first seen, if never), in ns: what the stall rule counts from."""
    due = prog.stall_at(threshold_s) if prog is not None else None
    return int((due - threshold_s) * SEC) if due is not None else None


def with_queued(stub: JobStub, src: AllocCounts, dest: AllocCounts,
                others: Others = ()) -> tuple[AllocCounts, AllocCounts, Others]:
    """The allocations Nomad could not place (JobSummary Queued) join the counts of their side; a group
    not named as a dtle role is listed under its name even with nothing to count (the job is not dtle's)."""
    queued = {"src": 0, "dest": 0}
    other = dict(others)
    for group, summary in stub.summary.items():
        role = dtle_role(group)
        if role:
            queued[role] += summary.queued
        else:
            held = other.get(group, AllocCounts())
            other[group] = dataclasses.replace(held, queued=summary.queued) if summary.queued else held
    if queued["src"]:
        src = dataclasses.replace(src, queued=queued["src"])
    if queued["dest"]:
        dest = dataclasses.replace(dest, queued=queued["dest"])
    return src, dest, tuple(sorted(other.items()))


def dest_error(allocs: Iterable[Allocation]) -> str:
    """The newest dest allocation's error, first line."""
    for alloc in sorted(allocs, key=lambda a: a.create_index, reverse=True):
        if alloc_role(alloc) == "dest":
            text = slim_last_error(alloc)
            if text:
                return text
    return ""


def node_health(nodes: Optional[Mapping[str, Node]]) -> frozenset:
    """What of the nodes a verdict reads: each node's status and its dtle driver's health."""
    if not nodes:
        return frozenset()
    return frozenset((n.id, n.status, n.dtle.healthy if n.dtle is not None else None) for n in nodes.values())


class RowBook:
    """The Jobs screen's rows kept from one snapshot to the next: per change, only the rows of the jobs
    that changed are rebuilt; every other row is the very same object as before (screens can skip it by
    identity), in the same order.

    Everything else a row shows is re-derived for all jobs only when it can have changed for all: a new
    Consul answer (positions, rates), Consul turning unreachable or back, or the moment the earliest
    not-yet-stalled job would cross the stall threshold.
    """

    def __init__(self) -> None:
        self.rows: dict[str, JobRow] = {}
        self._order: list[str] = []
        self._slot: dict[str, int] = {}
        self._list: list[JobRow] = []
        self._tuple: tuple[JobRow, ...] = ()
        self._cache: dict = {}
        self._consul_ok: Optional[bool] = None
        self._node_health: Optional[frozenset] = None
        self._nodes: Optional[Mapping[str, Node]] = None
        self._placement_of: Callable[[str], str] = lambda job_id: ""
        self._consul_keys: dict[str, tuple] = {}
        self._dtle_view: Mapping[str, JobProgress] = {}
        self._frozen: dict[str, int] = {}  # job ID -> dtle's delay frozen at (its queue stuck), rows in view
        self.stall_due = float("inf")
        self.running: set[str] = set()  # src and dest running, job status running (orphans' input)
        self.running_changed = False

    def update(
        self,
        stubs: Mapping[str, JobStub],
        allocs_of: Callable[[str], list[Allocation]],
        changed: Iterable[str],
        reordered: bool,
        positions: Mapping[str, JobPosition],
        progress: Mapping[str, GtidProgress],
        now: float,
        stall_threshold_s: float,
        consul_ok: bool,
        consul_changed: bool,
        nodes: Optional[Mapping[str, Node]] = None,
        placement_of: Callable[[str], str] = lambda job_id: "",
        dtle: Mapping[str, JobProgress] = {},
    ) -> tuple[JobRow, ...]:
        # A node that went down or whose dtle driver turned unhealthy changes the verdicts of the jobs on
        # it: such a change (rare) re-derives every row.
        health = node_health(nodes)
        flipped = consul_ok != self._consul_ok or health != self._node_health
        everything = consul_changed or flipped or now >= self.stall_due
        self._consul_ok, self._node_health = consul_ok, health
        self._nodes, self._placement_of = nodes, placement_of
        if reordered:
            self._forget_gone(stubs)
        changed_jobs = changed if isinstance(changed, (set, frozenset)) else set(changed)
        frozen_moved = self._dtle_frozen(dtle)
        if frozen_moved:
            changed_jobs = set(changed_jobs) | frozen_moved
        if everything:
            todo = self._order
            self.stall_due = float("inf")
        else:
            todo = [j for j in changed_jobs if j in self._slot]
            if reordered:  # a job listed again after a purge and a re-register may not be in `changed`
                todo.extend(j for j in self._order if j not in self.rows and j not in changed_jobs)
        touched = False
        for job_id in todo:
            touched |= self._refresh_row(job_id, stubs[job_id], allocs_of, positions.get(job_id),
                                         progress.get(job_id), now, stall_threshold_s, consul_ok,
                                         keep=not flipped and job_id not in changed_jobs)
        if reordered:
            self._list = [self.rows[job_id] for job_id in self._order]
            self._tuple = tuple(self._list)
        elif touched:
            slot, lst = self._slot, self._list
            for job_id in todo:
                lst[slot[job_id]] = self.rows[job_id]
            self._tuple = tuple(lst)
        return self._tuple

    def _dtle_frozen(self, dtle: Mapping[str, JobProgress]) -> set:
        """Take dtle's figures (a new mapping only when some job's changed): the jobs whose queue turned
        stuck or unstuck, whose rows are rebuilt (the others keep theirs)."""
        if dtle is self._dtle_view:
            return set()
        self._dtle_view = dtle
        frozen = {job_id: p.delay_s for job_id, p in dtle.items()
                  if p.queue_stuck_since is not None and p.delay_s is not None and p.delay_s > 0}
        before = self._frozen
        moved = {job_id for job_id in frozen.keys() | before.keys() if frozen.get(job_id) != before.get(job_id)}
        self._frozen = frozen
        return moved

    def _forget_gone(self, stubs: Mapping[str, JobStub]) -> None:
        """The job list's order changed: take the new order, drop what is no longer listed."""
        self._order = [job_id for job_id in stubs if job_id]
        self._slot = {job_id: i for i, job_id in enumerate(self._order)}
        for gone in [job_id for job_id in self.rows if job_id not in self._slot]:
            del self.rows[gone]
            self._cache.pop(gone, None)
            self._consul_keys.pop(gone, None)
            if gone in self.running:
                self.running.discard(gone)
                self.running_changed = True

    def _refresh_row(self, job_id: str, stub: JobStub, allocs_of: Callable[[str], list[Allocation]],
                     pos: Optional[JobPosition], prog: Optional[GtidProgress], now: float, threshold: float,
                     consul_ok: bool, keep: bool) -> bool:
        """Rebuild one job's row unless nothing it shows can have moved (`keep`: its Nomad side did not
        change and Consul did not flip). True when the row is a new object."""
        # What a row takes from Consul and the clock; the same object for an unchanged position
        # (positions_from_kv reuse). A job whose Nomad side and this did not move keeps its row.
        key = (pos, prog.rate() if prog is not None and consul_ok else None,
               prog.is_stalled(now, threshold) if prog is not None else False)
        old_key = self._consul_keys.get(job_id)
        self._consul_keys[job_id] = key
        old = self.rows.get(job_id)
        settled = old is None or not old.recheck_at or now < old.recheck_at
        if keep and settled and old is not None and old_key is not None and old_key[0] is pos \
                and old_key[1:] == key[1:]:
            self._note_stall_due(old, prog, consul_ok, threshold)
            return False
        row = build_row(stub, allocs_of(job_id), pos, prog, now, threshold, consul_ok, self._cache, self._nodes,
                        self._placement_of(job_id), self._frozen.get(job_id))
        touched = old is None or old != row
        if touched:
            self.rows[job_id] = row
        else:
            row = old  # equal rows stay the same object
        self._note_running(row)
        self._note_stall_due(row, prog, consul_ok, threshold)
        return touched

    def _note_stall_due(self, row: JobRow, prog: Optional[GtidProgress], consul_ok: bool, threshold: float) -> None:
        if row.recheck_at and row.recheck_at < self.stall_due:  # a verdict that settles with time
            self.stall_due = row.recheck_at
        # Only a row that build_row could mark STALLED: a past due of one that cannot stall (src down, job
        # stopped) would re-derive every row on every refresh, and keep the poller's stall timer firing.
        if (prog is not None and consul_ok and not row.stalled and row.stage is Stage.INCREMENTAL
                and row.src.running and row.dest.running and not row.stop):
            due = prog.stall_at(threshold)
            if due is not None and due < self.stall_due:
                self.stall_due = due

    def _note_running(self, row: JobRow) -> None:
        running = row.status == "running" and row.dest.running > 0
        if running != (row.id in self.running):
            self.running_changed = True
            if running:
                self.running.add(row.id)
            else:
                self.running.discard(row.id)
