"""Repairs: restart an allocation's task(s), stop an allocation, node eligibility, node drain.

Same order as actions.py: save what changes (the allocation or the node as Nomad has it now) under the
state directory -> if that fails, send nothing -> send the one write, once -> audit -> report. Refused in
read-only mode, audited. `plan_*` give the confirmation dialogs the exact request. Nomad's answer on a
failure is shown verbatim (ApiError.one_line keeps the body's text).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional

from dtle_tui import __version__
from dtle_tui.api.errors import ApiError
from dtle_tui.model.allocations import parse_allocation
from dtle_tui.model.nodes import runs_dtle
from dtle_tui.ops import backup as bk
from dtle_tui.ops.audit import os_user, utc_now_iso
from dtle_tui.ops.guarded import GuardedOps
from dtle_tui.ops.report import ActionResult, Plan, _Run
from dtle_tui.text.durations import parse_go_duration

if TYPE_CHECKING:
    from dtle_tui.api.nomad import NomadClient
    from dtle_tui.model.allocations import Allocation

HOUR_NS = 3600 * 1_000_000_000
DRAIN_NOTE = ("A drained node stays ineligible after the drain, even once it completes or is stopped: "
              "press e on it to let Nomad place allocations there again")


# An allocation Nomad has ended: its client says so, or its server asked it to end (Nomad's
# Allocation.TerminalStatus). Stopping one again changes nothing; restarting a task of one answers
# `500 … Task not running`.
_ENDED_CLIENT = ("complete", "failed", "lost")
_ENDED_DESIRED = ("stop", "evict")


def restart_task(alloc: Allocation) -> Optional[str]:
    """The task `r` restarts when the allocation has one; None restarts every task."""
    tasks = [t.name for t in alloc.task_states] or [alloc.task_group]
    return tasks[0] if len(tasks) == 1 else None


def _ended(alloc: Allocation) -> str:
    """`failed`, `stop complete`: what makes the allocation over; "" while it is not."""
    if alloc.client_status in _ENDED_CLIENT or alloc.desired_status in _ENDED_DESIRED:
        desired = alloc.desired_status if alloc.desired_status in _ENDED_DESIRED else ""
        return " ".join(x for x in (desired, alloc.client_status) if x)
    return ""


def repair_refusal(name: str, alloc: Optional[Allocation]) -> Optional[str]:
    """Why Nomad cannot do repair `name` (`restart`, `stop-alloc`) on `alloc` now, in one line for the
    operator; None when it can (or when nothing is selected: the flow says that). Nomad restarts only a
    running task (else `500 … Task not running`) and stops only an allocation that has not ended."""
    if alloc is None or name not in ("restart", "stop-alloc"):
        return None
    ended = _ended(alloc)
    if name == "stop-alloc":
        if ended:
            return (f"Allocation {alloc.short_id} has already ended ({ended}): there is nothing to stop. "
                    "Nothing was sent.")
        return None
    if ended or alloc.client_status != "running":
        state = ended or alloc.client_status or "not running"
        return (f"Allocation {alloc.short_id} is {state}: Nomad restarts only a running task. "
                "Nothing was sent.")
    task = restart_task(alloc)
    states = [t for t in alloc.task_states if task is None or t.name == task]
    # The job list's slim allocations carry no task state (""): Nomad is asked, it knows.
    if states and all(t.state and t.state != "running" for t in states):
        what = f"task {task} is {states[0].state}" if task else "no task is running"
        return f"Allocation {alloc.short_id}: {what}: Nomad restarts only a running task. Nothing was sent."
    return None


def drain_moves(items: list) -> list[str]:
    """What a drain moves, from the node's allocations ((Allocation, runs dtle) pairs): one line per dtle
    task that has not ended, then how many other allocations move with them."""
    active = [(a, dtle) for a, dtle in items if not _ended(a)]
    order = {"src": 0, "dest": 1}
    dtle = sorted((a for a, is_dtle in active if is_dtle), key=lambda a: (a.job_id, order.get(a.task_group, 2)))
    others = len(active) - len(dtle)
    if not dtle:
        lines = ["No dtle task runs on this node: the drain moves none."]
    else:
        jobs: dict[str, list[str]] = {}
        for a in dtle:
            jobs.setdefault(a.job_id, []).append(f"{a.task_group} {a.short_id} {a.client_status}")
        lines = [f"The drain moves {len(dtle)} dtle task(s) of {len(jobs)} job(s):"]
        lines += [f"  {job}: {', '.join(tasks)}" for job, tasks in jobs.items()]
    if others:
        lines.append(f"and {others} other allocation(s) (not dtle).")
    return lines


def parse_deadline(text: str) -> Optional[int]:
    """A Go duration (`1h`, `30m`, `1h30m`, `90s`) or seconds as a number -> nanoseconds; None when not
    understood or not above 0."""
    text = text.strip().lower().replace(" ", "")
    try:
        seconds = int(text) if text.isdigit() else parse_go_duration(text)
    except ValueError:
        return None
    return int(seconds * 1_000_000_000) if seconds > 0 else None


class Repairs(GuardedOps):
    """Each repair's request is a Call of the Nomad client (api/nomad.py): the plan prints it, the repair
    sends the same object."""

    def __init__(self, nomad: NomadClient, settings: Any, state: Optional[Path] = None,
                 cluster: Optional[str] = None) -> None:
        super().__init__(settings, state, cluster)
        self.nomad = nomad

    # ---- plans ------------------------------------------------------------------------------------
    def plan_restart(self, job_id: str, alloc_id: str, task: Optional[str]) -> Plan:
        what = f"task {task}" if task else "every task"
        requests = [self.nomad.allocation_call(alloc_id).text(), self.nomad.restart_call(alloc_id, task).text()]
        return Plan("restart", job_id, requests, self.root(job_id) / "<UTC timestamp>",
                    [f"Restarts {what} of allocation {alloc_id[:8]} in place (same allocation, Restarts +1)"])

    def plan_stop(self, job_id: str, alloc_id: str) -> Plan:
        requests = [self.nomad.allocation_call(alloc_id).text(), self.nomad.stop_call(alloc_id).text()]
        return Plan("stop-alloc", job_id, requests, self.root(job_id) / "<UTC timestamp>",
                    [f"Stops allocation {alloc_id[:8]}: Nomad places a replacement (NextAllocation), on another "
                     "node when one fits; the screen then follows the replacement"])

    def plan_eligibility(self, node_id: str, name: str, eligible: bool) -> Plan:
        effect = ("Nomad may place allocations on it again (blocked evaluations are retried)" if eligible else
                  "Nomad places no new allocation on it; running ones stay")
        requests = [self.nomad.node_call(node_id).text(), self.nomad.eligibility_call(node_id, eligible).text()]
        return Plan("node-eligibility", None, requests,
                    self.root(f"node {name}") / "<UTC timestamp>",
                    [f"Node {name} becomes {'eligible' if eligible else 'ineligible'}: {effect}"])

    def plan_drain(self, node_id: str, name: str, deadline_ns: Optional[int]) -> Plan:
        if deadline_ns is None:
            note = f"Stops the drain of node {name}; allocations already moved stay where they are"
        else:
            note = (f"Drains node {name}: its allocations move to other nodes, forced after the deadline "
                    f"({deadline_ns // 1_000_000_000} s)")
        requests = [self.nomad.node_call(node_id).text(), self.nomad.drain_call(node_id, deadline_ns).text()]
        return Plan("node-drain", None, requests, self.root(f"node {name}") / "<UTC timestamp>", [note, DRAIN_NOTE])

    async def plan_drain_moves(self, node_id: str) -> list[str]:
        """The dtle tasks a drain of the node would move, read now (GET /v1/node/<id>/allocations)."""

        def item(d: Any) -> Any:  # each whole allocation carries its Job: only whether it runs dtle is kept
            return (parse_allocation(d), runs_dtle(d)) if isinstance(d, dict) else None

        try:
            answer = await self.nomad.node_allocations(node_id, each=item)
        except ApiError as exc:
            return [f"What the drain moves is not known: the node's allocations could not be read "
                    f"({exc.one_line()})."]
        return drain_moves([x for x in answer.value if x is not None])

    def root(self, name: str) -> Path:
        return bk.backup_root(self.state, self.cluster, name)

    # ---- the four repairs ----------------------------------------------------------------------------
    async def restart(self, job_id: str, alloc_id: str, task: Optional[str]) -> ActionResult:
        call = self.nomad.restart_call(alloc_id, task)

        async def body(run: _Run) -> ActionResult:
            await self._save_alloc(run, job_id, alloc_id)
            await run.send(call.text(), self.nomad.send(call))
            what = f"Task {task}" if task else "Every task"
            return run.result(True, f"{what} of allocation {alloc_id[:8]} ({job_id}) restarted in place.")

        return await self._perform("restart", job_id, call.text(), body)

    async def stop(self, job_id: str, alloc_id: str) -> ActionResult:
        call = self.nomad.stop_call(alloc_id)

        async def body(run: _Run) -> ActionResult:
            await self._save_alloc(run, job_id, alloc_id)
            answer = await run.send(call.text(), self.nomad.send(call))
            eval_id = str(answer.get("EvalID", ""))[:8] if isinstance(answer, dict) else ""
            run.notes.append(f"evaluation {eval_id} places the replacement" if eval_id else "")
            return run.result(True, f"Allocation {alloc_id[:8]} ({job_id}) stopped; Nomad reschedules it.")

        return await self._perform("stop-alloc", job_id, call.text(), body)

    async def set_eligibility(self, node_id: str, name: str, eligible: bool) -> ActionResult:
        call = self.nomad.eligibility_call(node_id, eligible)

        async def body(run: _Run) -> ActionResult:
            await self._save_node(run, node_id, name)
            await run.send(call.text(), self.nomad.send(call))
            word = "eligible" if eligible else "ineligible"
            return run.result(True, f"Node {name} is now {word} for scheduling.")

        return await self._perform("node-eligibility", None, call.text(), body, target=f"node {name}")

    async def drain(self, node_id: str, name: str, deadline_ns: Optional[int]) -> ActionResult:
        call = self.nomad.drain_call(node_id, deadline_ns)

        async def body(run: _Run) -> ActionResult:
            await self._save_node(run, node_id, name)
            await run.send(call.text(), self.nomad.send(call))
            if deadline_ns is None:
                return run.result(True, f"Drain of node {name} stopped; the node stays ineligible until e "
                                        "makes it eligible.")
            run.notes.append(DRAIN_NOTE)
            return run.result(True, f"Node {name} is draining (deadline {deadline_ns // 1_000_000_000} s).")

        return await self._perform("node-drain", None, call.text(), body, target=f"node {name}")

    # ---- shared steps -----------------------------------------------------------------------------
    async def _perform(self, action: str, job_id: Optional[str], step: str,
                       body: Callable[[_Run], Awaitable[ActionResult]], target: Optional[str] = None) -> ActionResult:
        run = _Run(action, job_id or target, set())
        run.pending = ["backup", step]
        return await self._guarded(run, body, [step])

    async def _save(self, run: _Run, name: str, what: str, read: Awaitable[Any]) -> None:
        try:
            value = (await read).value
        except ApiError as exc:
            raise run.fail("", f"could not read the {what} for the backup ({exc.one_line()}); nothing was sent") \
                from None
        meta = {"action": run.action, "time": utc_now_iso(), "user": os_user(), "cluster": self.cluster,
                "target": name, "dtle_tui": __version__}
        try:
            path = await self.write_backup(name, {f"{what}.json": bk.json_bytes(value),
                                                  "meta.json": bk.json_bytes(meta)})
        except bk.BackupError as exc:
            raise run.fail("", f"{exc}; nothing was sent") from None
        run.backup = path
        run.pending.remove("backup")
        run.done.append(f"the {what} as it was saved")

    async def _save_alloc(self, run: _Run, job_id: str, alloc_id: str) -> None:
        await self._save(run, job_id, "allocation", self.nomad.send(self.nomad.allocation_call(alloc_id)))

    async def _save_node(self, run: _Run, node_id: str, name: str) -> None:
        await self._save(run, f"node {name}", "node", self.nomad.send(self.nomad.node_call(node_id)))
