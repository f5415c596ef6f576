"""Nomad evaluations and why a task group was not placed, in the operator's words.

GET /v1/job/<id>/evaluations lists the job's evaluations whole (newest first); each may carry
`FailedTGAllocs` (task group -> AllocMetric) and `QueuedAllocations`. Evaluations are encoded with
omitempty, so a zero field is missing, not 0 (real agents' answers: tests/fixtures/real-nomad/*/troubleshooting/).
On 0.11 the blocked
evaluation has no FailedTGAllocs at all; the metric then comes from the evaluation that blocked it.
Map keys (ConstraintFiltered, DimensionExhausted, ...) come in random order on real agents: sorted here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from dtle_tui.model.jobs import Job
from dtle_tui.model.wire import as_dict, as_int, as_str, top_dict, top_list

Counts = tuple  # ((name, count), ...) sorted by name


def _counts(v: Any) -> Counts:
    return tuple(sorted((str(k), as_int(n)) for k, n in as_dict(v).items()))


@dataclass(frozen=True)
class PlacementFailure:
    """One task group's AllocMetric from FailedTGAllocs."""

    group: str
    nodes_evaluated: int = 0
    nodes_filtered: int = 0
    nodes_available: Counts = ()
    class_filtered: Counts = ()
    constraint_filtered: Counts = ()
    nodes_exhausted: int = 0
    class_exhausted: Counts = ()
    dimension_exhausted: Counts = ()
    quota_exhausted: tuple = ()
    # 1.1: task -> what it asked for ({"MemoryMB": 10000000, "CPU": 0, ...}), only the non-zero numbers.
    resources_exhausted: tuple = ()
    coalesced_failures: int = 0
    raw: dict = field(default_factory=dict, repr=False, hash=False, compare=False)


def parse_failure(group: str, d: Any) -> PlacementFailure:
    d = as_dict(d)
    g = d.get
    wanted = []
    for task, res in sorted(as_dict(g("ResourcesExhausted")).items()):
        asked = tuple((k, as_int(v)) for k, v in sorted(as_dict(res).items())
                      if isinstance(v, int) and not isinstance(v, bool) and v)
        wanted.append((str(task), asked))
    quota = g("QuotaExhausted")
    return PlacementFailure(
        group=group, nodes_evaluated=as_int(g("NodesEvaluated")), nodes_filtered=as_int(g("NodesFiltered")),
        nodes_available=_counts(g("NodesAvailable")), class_filtered=_counts(g("ClassFiltered")),
        constraint_filtered=_counts(g("ConstraintFiltered")), nodes_exhausted=as_int(g("NodesExhausted")),
        class_exhausted=_counts(g("ClassExhausted")), dimension_exhausted=_counts(g("DimensionExhausted")),
        quota_exhausted=tuple(as_str(q) for q in quota) if isinstance(quota, list) else (),
        resources_exhausted=tuple(wanted), coalesced_failures=as_int(g("CoalescedFailures")), raw=d,
    )


@dataclass(frozen=True)
class Evaluation:
    id: str
    job_id: str = ""
    status: str = ""
    status_description: str = ""
    triggered_by: str = ""
    blocked_eval: str = ""
    previous_eval: str = ""
    failed: tuple[PlacementFailure, ...] = ()
    queued: Counts = ()  # QueuedAllocations; () when the key is missing (blocked evals)
    has_queued: bool = False
    create_index: int = 0
    modify_index: int = 0
    create_time_ns: int = 0
    modify_time_ns: int = 0

    @property
    def short_id(self) -> str:
        return self.id[:8]


def parse_evaluation(data: Any) -> Evaluation:
    d = top_dict(data, "evaluation")
    g = d.get
    failed = tuple(parse_failure(str(k), v) for k, v in sorted(as_dict(g("FailedTGAllocs")).items()))
    return Evaluation(
        id=as_str(g("ID")), job_id=as_str(g("JobID")), status=as_str(g("Status")),
        status_description=as_str(g("StatusDescription")), triggered_by=as_str(g("TriggeredBy")),
        blocked_eval=as_str(g("BlockedEval")), previous_eval=as_str(g("PreviousEval")), failed=failed,
        queued=_counts(g("QueuedAllocations")), has_queued=isinstance(g("QueuedAllocations"), dict),
        create_index=as_int(g("CreateIndex")), modify_index=as_int(g("ModifyIndex")),
        create_time_ns=as_int(g("CreateTime")), modify_time_ns=as_int(g("ModifyTime")),
    )


def parse_evaluations(data: Any) -> list[Evaluation]:
    """GET /v1/job/<id>/evaluations or /v1/evaluations: entries that are not objects are skipped."""
    return [parse_evaluation(d) for d in top_list(data, "evaluations") if isinstance(d, dict)]


# ---- the "Not placed" report -------------------------------------------------------------------------

@dataclass(frozen=True)
class GroupPlacement:
    """Why one task group has allocations that Nomad could not place."""

    group: str
    queued: int
    lines: tuple[str, ...]
    eval_id: str = ""
    blocked_eval: str = ""  # a blocked evaluation waits to place it when the cluster changes
    raw: dict = field(default_factory=dict, repr=False, hash=False, compare=False)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _drivers(job: Optional[Job], group: str) -> list[tuple[str, str]]:
    tg = job.group(group) if job is not None else None
    return [(t.name, t.driver) for t in tg.tasks] if tg is not None else []


def failure_lines(failure: PlacementFailure, job: Optional[Job] = None) -> list[str]:
    """The AllocMetric as sentences, most telling first."""
    lines = []
    avail = ", ".join(f"{dc}: {n}" for dc, n in failure.nodes_available) or "none"
    if failure.nodes_evaluated == 0:
        lines.append(f"No node could be evaluated (nodes available per datacenter: {avail}): every node is "
                     "down, ineligible or draining")
    else:
        lines.append(f"{_plural(failure.nodes_evaluated, 'node')} evaluated, "
                     f"{failure.nodes_filtered} filtered, {failure.nodes_exhausted} exhausted "
                     f"(available per datacenter: {avail})")
    for reason, n in failure.constraint_filtered:
        if reason == "missing drivers":
            drivers = sorted({d for _t, d in _drivers(job, failure.group) if d})
            named = " or ".join(f"'{d}'" for d in drivers) if drivers else "the task's driver"
            tasks = ", ".join(t for t, _d in _drivers(job, failure.group))
            lines.append(f"{_plural(n, 'node')}: missing drivers: no node offers a healthy {named} driver"
                         + (f" (task {tasks})" if tasks else ""))
        elif reason == "computed class ineligible":
            lines.append(f"{_plural(n, 'node')}: computed class ineligible (its node class already failed "
                         "a constraint)")
        else:
            lines.append(f"{_plural(n, 'node')} filtered by constraint: {reason}")
    for cls, n in failure.class_filtered:
        lines.append(f"{_plural(n, 'node')} of class {cls or '(none)'} filtered")
    for dim, n in failure.dimension_exhausted:
        lines.append(f"{_plural(n, 'node')} out of {dim} (DimensionExhausted)")
    for cls, n in failure.class_exhausted:
        lines.append(f"{_plural(n, 'node')} of class {cls or '(none)'} exhausted")
    for task, asked in failure.resources_exhausted:
        if asked:
            lines.append(f"task {task} asks " + ", ".join(f"{k} {v}" for k, v in asked))
    for quota in failure.quota_exhausted:
        lines.append(f"quota exhausted: {quota}")
    if failure.coalesced_failures:
        lines.append(f"{_plural(failure.coalesced_failures, 'more allocation')} failed the same way")
    return lines


def placement_report(evals: Iterable[Evaluation], job: Optional[Job],
                     queued: Optional[dict] = None) -> tuple[GroupPlacement, ...]:
    """Per task group, the newest evaluation's FailedTGAllocs, unless a newer evaluation placed it.

    `queued`: JobSummary's Queued per group when known; without it the evaluations' QueuedAllocations
    decide. A blocked evaluation (Status "blocked") waits for the cluster to change to try again.
    """
    ordered = sorted(evals, key=lambda e: (e.modify_index, e.create_index), reverse=True)
    blocked = next((e for e in ordered if e.status == "blocked"), None)
    seen: set[str] = set()
    out = []
    for ev in _sources(ordered, blocked):
        for failure in ev.failed:
            if failure.group in seen:
                continue
            seen.add(failure.group)
            placed_later = any(e.has_queued and dict(e.queued).get(failure.group) == 0
                               and e.modify_index > ev.modify_index for e in ordered)
            count = (queued or {}).get(failure.group)
            if count is None:
                count = next((dict(e.queued).get(failure.group, 0) for e in ordered if e.has_queued
                              and failure.group in dict(e.queued)), 0)
            if placed_later or (queued is not None and not count):
                continue
            waiting = blocked.id if blocked is not None else ""
            out.append(GroupPlacement(failure.group, count, tuple(failure_lines(failure, job)), ev.id,
                                      waiting, failure.raw))
    return tuple(sorted(out, key=lambda p: p.group))


def _sources(ordered: list[Evaluation], blocked: Optional[Evaluation]) -> list[Evaluation]:
    """Where a group's failure is read, first found first: the current blocked evaluation (1.1.2 copies
    the metric into it), the one that created it (0.11's blocked evaluation carries none), then the
    others newest first, canceled ones last. A canceled evaluation ("existing blocked evaluation
    exists") is often the newest, but it is not what waits: the "Not placed" section must never name it
    while a blocked one is current (issue 22 item 7, real-nomad unplaced-driver/20_later_job_evaluations)."""
    first = [blocked] if blocked is not None else []
    if blocked is not None and blocked.previous_eval:
        first += [e for e in ordered if e.id == blocked.previous_eval]
    rest = [e for e in ordered if e not in first]
    return first + [e for e in rest if e.status != "canceled"] + [e for e in rest if e.status == "canceled"]
