"""One verdict per job, read first: running, starting, failing, failed, dead, queued, stalled or stopped.

Built from the job's stub, its allocations and their task events (docs/reference/real-dtle.md §2-§4): a
real dtle task that fails on every start never shows as failed in the job's Status ("running" or
"pending" while the restart policy waits), so the events decide. A verdict carries a short reason for an
80-column cell, a full text for Job detail, and an attention rank to sort the jobs that need the
operator first (issue 23): failing, failed, stalled, queued, starting, then healthy (full copy, then
incremental), then stopped and dead by choice.

The verdict reads task states in Nomad's own shape (`TaskStates` of an allocation), whole or reduced by
`slim_task_state` to the few events it reads (what a list of 15,000 allocations can afford to keep).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional

from dtle_tui.model.stage import Stage, StageInfo, stage_reached
from dtle_tui.model.wire import as_int, as_str
from dtle_tui.text.fmt import duration

if TYPE_CHECKING:
    from dtle_tui.model.allocations import Allocation
    from dtle_tui.model.jobs import JobStub
    from dtle_tui.model.nodes import Node

SEC = 1_000_000_000
# A task that started again after an error is still failing until it has run this long (a real dtle task
# fails within milliseconds of its start; docs/reference/real-dtle.md §4).
SETTLE_S = 30.0
REASON_WIDTH = 40  # the reason cell at 80 columns


class VerdictKind(Enum):
    FAILING = "failing"
    FAILED = "failed"
    STALLED = "stalled"
    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    STOPPED = "stopped"
    DEAD = "dead"


# Attention rank: smaller first. Running splits by stage (full copy before incremental).
_RANK = {VerdictKind.FAILING: 0, VerdictKind.FAILED: 1, VerdictKind.STALLED: 2, VerdictKind.QUEUED: 3,
         VerdictKind.STARTING: 4, VerdictKind.RUNNING: 6, VerdictKind.STOPPED: 7, VerdictKind.DEAD: 8}
RANK_RUNNING_FULL = 5
ATTENTION = frozenset({VerdictKind.FAILING, VerdictKind.FAILED, VerdictKind.STALLED, VerdictKind.QUEUED})


@dataclass(frozen=True)
class Verdict:
    kind: VerdictKind
    reason: str = ""  # short, fit for the 80-column cell ("" for a healthy job)
    detail: str = ""  # the full text for Job detail
    rank: int = 8
    stage: StageInfo = StageInfo()  # the stage REACHED (never a current state of a failing job)
    task: str = ""  # the task the reason is about ("src", "dest"), "" when it is the job's
    restarts: int = 0  # restarts of the current allocations' tasks
    next_try_ns: Optional[int] = None  # when a crash-looping task starts again
    last_error: str = ""

    @property
    def label(self) -> str:
        return self.kind.value

    @property
    def needs_attention(self) -> bool:
        return self.kind in ATTENTION


# ---- one task ---------------------------------------------------------------------------------------------

_KILLS = frozenset({"Killing", "Restart Signaled", "Signaling"})
_CAUSES = frozenset({"Driver Failure", "Setup Failure", "Failed Validation", "Failed Artifact Download",
                     "Task hook failed", "Failed Restoring Task", "Disk Resources Exceeded"})
# What the verdict and the stage reached read of a task's events (slim_task_state keeps these only).
KEPT_EVENT_TYPES = frozenset({"Started", "Terminated", "Restarting", "Not Restarting", "Driver", "Killing",
                              "Restart Signaled", "Signaling"}) | _CAUSES
_KEPT_FIELDS = ("Type", "Time", "DriverMessage", "ExitCode", "Message", "StartDelay", "RestartReason",
                "DisplayMessage", "DriverError", "SetupError", "Details")


@dataclass(frozen=True)
class TaskFacts:
    """What the events of one task say, in Nomad's terms."""

    task: str
    state: str = ""  # running / pending / dead
    failed: bool = False
    restarts: int = 0
    last_error: str = ""  # dtle's exit message of the newest failure ("" when none)
    last_error_ns: int = 0
    started_ns: int = 0  # the newest Started
    next_try_ns: Optional[int] = None  # waiting to start again at (the newest event is Restarting)
    delayed: bool = False  # the restart policy's attempts are used up: it waits out its interval
    gave_up: str = ""  # the Not Restarting reason (mode "fail")


def _error_text(ev: dict) -> str:
    details = ev.get("Details") if isinstance(ev.get("Details"), dict) else {}
    text = (as_str(ev.get("Message")) or as_str(details.get("exit_message")) or as_str(ev.get("DriverError"))
            or as_str(ev.get("SetupError")) or as_str(ev.get("DisplayMessage")))
    return " ".join(text.split())


def task_facts(name: str, state: Any) -> TaskFacts:
    """A task's facts from its raw TaskState (whole, or slimmed by slim_task_state)."""
    if not isinstance(state, dict):
        return TaskFacts(name)
    raw = state.get("Events")
    events = sorted((e for e in raw if isinstance(e, dict)), key=lambda e: as_int(e.get("Time"))) \
        if isinstance(raw, list) else []
    error, error_ns, started, next_try, delayed, gave_up = "", 0, 0, None, False, ""
    before: Optional[dict] = None
    for ev in events:
        kind, t = ev.get("Type"), as_int(ev.get("Time"))
        if kind == "Started":
            started, next_try = t, None
        elif kind == "Terminated":
            details = ev.get("Details") if isinstance(ev.get("Details"), dict) else {}
            killed = before is not None and before.get("Type") in _KILLS
            if not killed and (as_int(ev.get("ExitCode")) or ev.get("Message") or details.get("exit_message")):
                error, error_ns = _error_text(ev) or f"exit code {as_int(ev.get('ExitCode'))}", t
        elif kind in _CAUSES:
            error, error_ns = _error_text(ev) or str(kind), t
        elif kind == "Restarting":
            details = ev.get("Details") if isinstance(ev.get("Details"), dict) else {}
            delay = as_int(ev.get("StartDelay")) or as_int(details.get("start_delay"))
            next_try = t + delay
            reason = as_str(ev.get("RestartReason")) or as_str(details.get("restart_reason"))
            delayed = "applying a delay" in reason
        elif kind == "Not Restarting":
            details = ev.get("Details") if isinstance(ev.get("Details"), dict) else {}
            gave_up = as_str(ev.get("RestartReason")) or as_str(details.get("restart_reason")) \
                or as_str(ev.get("DisplayMessage")) or "Task exceeded restart policy"
            next_try = None
        before = ev
    if events and events[-1].get("Type") != "Restarting":
        next_try = None
    return TaskFacts(name, as_str(state.get("State")), state.get("Failed") is True, as_int(state.get("Restarts")),
                     error, error_ns, started, next_try, delayed, gave_up)


def slim_task_state(state: Any) -> Optional[dict]:
    """A TaskState reduced to what task_facts and stage_reached read: State, Failed, Restarts and the
    events of KEPT_EVENT_TYPES with the fields they use (Nomad keeps 10 events per task, so this stays small)."""
    if not isinstance(state, dict):
        return None
    raw = state.get("Events")
    events = [{k: ev[k] for k in _KEPT_FIELDS if k in ev} for ev in raw if isinstance(ev, dict)
              and ev.get("Type") in KEPT_EVENT_TYPES] if isinstance(raw, list) else []
    return {"State": state.get("State"), "Failed": state.get("Failed"), "Restarts": state.get("Restarts"),
            "Events": events}


def alloc_facts(alloc: Allocation) -> list[TaskFacts]:
    states = alloc.task_states_raw
    if not isinstance(states, dict):
        return []
    return [task_facts(str(name), states[name]) for name in sorted(states, key=str)]


# ---- texts ------------------------------------------------------------------------------------------------

def fit(text: str, width: int) -> str:
    """One line of at most `width` characters, cut with … (at a word boundary when one is near)."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[: max(1, width - 1)]
    space = cut.rfind(" ")
    if space >= width * 2 // 3:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def _with_tail(head: str, tail: str, width: int) -> str:
    if len(head) + len(tail) + 2 <= width:
        return f"{head}, {tail}" if tail else head
    if not tail:
        return fit(head, width)
    return fit(head, max(8, width - len(tail) - 1)) + " " + tail


def _restarts(n: int) -> str:
    return "1 restart" if n == 1 else f"{n} restarts"


def _in(seconds: float) -> str:
    return "now" if seconds <= 0 else f"in {duration(seconds)}"


# ---- the verdict --------------------------------------------------------------------------------------------

def _current(allocs: Iterable[Allocation]) -> dict[str, Allocation]:
    """Per task group, the newest allocation (the one Nomad acts on now)."""
    out: dict[str, Allocation] = {}
    for a in allocs:
        if a.task_group and (a.task_group not in out or a.create_index > out[a.task_group].create_index):
            out[a.task_group] = a
    return out


def _node_problem(alloc: Allocation, nodes: Optional[Mapping[str, Node]]) -> str:
    node = nodes.get(alloc.node_id) if nodes and not alloc.is_terminal else None
    if node is None:
        return ""
    name = node.name or node.short_id
    if node.status == "down":
        return f"node {name} is down"
    dtle = node.dtle
    if dtle is not None and dtle.detected and not dtle.healthy:
        return f"dtle driver unhealthy on {name}: {dtle.health_description or 'no description'}"
    return ""


def job_verdict(job: JobStub, allocs: Iterable[Allocation], now_ns: int, *,
                nodes: Optional[Mapping[str, Node]] = None, stalled_since_ns: Optional[int] = None,
                placement: str = "", reason_width: int = REASON_WIDTH, stage: Optional[StageInfo] = None,
                frozen_delay_s: Optional[int] = None) -> Verdict:
    """The job's verdict. `nodes` by ID (node down, dtle driver unhealthy: failing) when known;
    `stalled_since_ns`: the Gtid has not moved since then (the caller's stall rule decided);
    `frozen_delay_s`: dtle's delay has stayed at this many seconds while the Gtid stood still: its queue is
    stuck (model.stall.queue_stuck decided), a stall known without waiting for the threshold;
    `placement`: why queued allocations are not placed (the evaluations' short reason) when known;
    `stage`: the stage reached when the caller knows better than these allocations' last 10 events
    (model.stage.later_stage of what it saw before), else stage_reached(allocs)."""
    allocs = list(allocs)
    stage = stage if stage is not None else stage_reached(allocs)
    current = _current(allocs)
    facts = {group: alloc_facts(a) for group, a in current.items()}
    restarts = sum(f.restarts for group in facts.values() for f in group)

    def make(kind: VerdictKind, reason: str, detail: str, task: str = "", next_try: Optional[int] = None,
             error: str = "", rank: Optional[int] = None) -> Verdict:
        return Verdict(kind, reason, detail, _RANK[kind] if rank is None else rank, stage, task, restarts,
                       next_try, error)

    if job.stop:
        live = [a for a in current.values() if not a.is_terminal]
        return make(VerdictKind.STOPPED, "stopping" if live else "",
                    "stopped: its allocations are being stopped" if live else "stopped by an operator")
    # The src first: its failure is usually the cause (the recordings' src fails on GTID_MODE).
    order = sorted(facts, key=lambda g: (g != "src", g != "dest", g))
    found = [(v.rank, sub, n, v) for n, group in enumerate(order)
             for sub, v in _failing(group, current[group], facts[group], now_ns, nodes, make, reason_width)]
    if found:
        return min(found, key=lambda c: c[:3])[3]
    queued = sorted(g for g, s in job.summary.items() if s.queued and not (
        g in current and current[g].client_status == "running"))
    all_running = bool(current) and all(a.client_status == "running" for a in current.values())
    frozen = (f"dtle's delay has stayed at {frozen_delay_s} s while the Gtid stood still: its queue is stuck"
              if frozen_delay_s else "")
    if stalled_since_ns and all_running:
        since = max(0.0, (now_ns - stalled_since_ns) / SEC)
        return make(VerdictKind.STALLED, fit(f"Gtid unchanged {duration(since)}", reason_width),
                    f"stalled: the tasks run but the Gtid has not moved for {duration(since)}"
                    + (f"; {frozen}" if frozen else ""))
    if frozen and all_running:
        return make(VerdictKind.STALLED, fit(f"dtle delay frozen at {frozen_delay_s}s", reason_width),
                    f"stalled: the tasks run but {frozen}")
    if queued:
        why = placement or f"{', '.join(queued)} cannot be placed"
        return make(VerdictKind.QUEUED, fit(why, reason_width),
                    f"queued: {', '.join(queued)} waiting for a node" + (f" — {placement}" if placement else ""))
    if job.status == "dead":
        failed = sorted(g for g, s in job.summary.items() if s.failed and not s.complete and not s.running)
        if failed and not current:  # the allocations were garbage-collected: the summary still counts them
            return make(VerdictKind.FAILED, fit(f"{', '.join(failed)} failed", reason_width),
                        f"failed — dead after {', '.join(failed)} failed (its allocations are gone)")
        return make(VerdictKind.DEAD, "", "dead: every allocation has ended")
    if current and all(a.client_status == "running" for a in current.values()):
        if stage.stage is Stage.FULL:
            return make(VerdictKind.RUNNING, "", "running: full copy", rank=RANK_RUNNING_FULL)
        word = "incremental" if stage.stage is Stage.INCREMENTAL else "running"
        return make(VerdictKind.RUNNING, "", f"running: {word}")
    waiting = sorted(g for g, a in current.items() if a.client_status != "running")
    what = f"{', '.join(waiting)} starting" if waiting else "waiting for its allocations"
    return make(VerdictKind.STARTING, fit(what, reason_width), f"starting: {what}")


def _failing(group: str, alloc: Allocation, tasks: list, now_ns: int, nodes, make,
             width: int) -> list[tuple[int, Verdict]]:
    """The failures of one group's current allocation, each with its precedence among failures (0 first):
    its node or driver, a crash loop waiting for its next try, a failed allocation, a task retrying."""
    out: list[tuple[int, Verdict]] = []
    problem = _node_problem(alloc, nodes)
    if problem:
        out.append((0, make(VerdictKind.FAILING, fit(problem, width), f"failing — {group}: {problem}", task=group)))
    for f in tasks:
        label = f.task
        if f.next_try_ns is not None and f.last_error:
            wait = (f.next_try_ns - now_ns) / SEC
            policy = " (the restart policy's attempts are used up: it waits out its interval)" if f.delayed else ""
            detail = (f"failing — restarting {_in(wait)} ({_restarts(f.restarts)}), last error: {label}: "
                      f"{f.last_error}{policy}")
            out.append((1, make(VerdictKind.FAILING, _with_tail(f"{label}: {f.last_error}", f"restarting {_in(wait)}",
                                                               width), detail, label, f.next_try_ns, f.last_error)))
        elif f.state == "running" and f.last_error and f.started_ns >= f.last_error_ns \
                and (now_ns - f.started_ns) / SEC < SETTLE_S:
            detail = (f"failing — started again {duration((now_ns - f.started_ns) / SEC)} ago after an error "
                      f"({_restarts(f.restarts)}), last error: {label}: {f.last_error}")
            out.append((3, make(VerdictKind.FAILING, _with_tail(f"{label}: {f.last_error}", "retrying", width),
                                detail, label, None, f.last_error)))
    if alloc.client_status in ("failed", "lost"):
        f = next((t for t in tasks if t.failed or t.last_error), tasks[0] if tasks else None)
        label = f.task if f is not None else group
        error = f.last_error if f is not None else ""
        why = error or alloc.client_description or alloc.client_status
        gave_up = f" ({f.gave_up})" if f is not None and f.gave_up else ""
        if alloc.followup_eval_id or alloc.next_allocation:
            by = f"allocation {alloc.next_allocation[:8]}" if alloc.next_allocation else \
                f"evaluation {alloc.followup_eval_id[:8]}"
            out.append((2, make(VerdictKind.FAILING, _with_tail(f"{label}: {why}", "rescheduling", width),
                                f"failing — {group} failed{gave_up}; Nomad places a replacement ({by}); "
                                f"last error: {label}: {why}", label, None, error)))
        else:
            out.append((2, make(VerdictKind.FAILED, fit(f"{label}: {why}", width),
                                f"failed — {group} gave up{gave_up} and no reschedule is left; last error: "
                                f"{label}: {why}", label, None, error)))
    return out
