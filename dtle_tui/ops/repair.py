"""Repairs: restart an allocation's task(s), stop an allocation, node eligibility, node drain.

Same order as actions.py: save what changes (the allocation or the node as Nomad has it now) under the
state directory -> if that fails, send nothing -> send the one write, once -> audit -> report. Refused in
read-only mode, audited. `plan_*` give the confirmation dialogs the exact request. Nomad's answer on a
failure is shown verbatim (ApiError.one_line keeps the body's text).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional
from urllib.parse import quote, urlencode

from dtle_tui import __version__
from dtle_tui.api.errors import ApiError
from dtle_tui.ops import backup as bk
from dtle_tui.ops.audit import os_user, utc_now_iso
from dtle_tui.ops.guarded import GuardedOps
from dtle_tui.ops.report import ActionResult, Plan, _Run

HOUR_NS = 3600 * 1_000_000_000
DRAIN_NOTE = ("A drained node stays ineligible after the drain, even once it completes or is stopped: "
              "press e on it to let Nomad place allocations there again")


_UNITS = {"h": 3600, "m": 60, "s": 1}


def parse_deadline(text: str) -> Optional[int]:
    """`1h`, `30m`, `1h30m`, `90s`, or seconds as a number -> nanoseconds; None when not understood."""
    text = text.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+", text):
        seconds = int(text)
    else:
        parts = re.findall(r"(\d+)([hms])", text)
        if not parts or "".join(n + u for n, u in parts) != text:
            return None
        seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    return seconds * 1_000_000_000 if seconds > 0 else None


def _q(segment: str) -> str:
    return quote(segment, safe="")


class Repairs(GuardedOps):
    def __init__(self, nomad: Any, settings: Any, state: Optional[Path] = None, cluster: Optional[str] = None) -> None:
        super().__init__(settings, state, cluster)
        self.nomad = nomad

    def _query(self) -> str:
        params = {k: v for k, v in (("region", self.settings.nomad.region),
                                    ("namespace", self.settings.nomad.namespace)) if v}
        return f"?{urlencode(params)}" if params else ""

    # ---- request texts (the dialogs show exactly these) ------------------------------------------
    def restart_request(self, alloc_id: str, task: Optional[str]) -> str:
        body = json.dumps({"TaskName": task}) if task else "{}"
        return f"POST /v1/client/allocation/{_q(alloc_id)}/restart{self._query()} {body}"

    def stop_request(self, alloc_id: str) -> str:
        return f"POST /v1/allocation/{_q(alloc_id)}/stop{self._query()}"

    def eligibility_request(self, node_id: str, eligible: bool) -> str:
        value = "eligible" if eligible else "ineligible"
        return f'POST /v1/node/{_q(node_id)}/eligibility{self._query()} {{"Eligibility": "{value}"}}'

    def drain_request(self, node_id: str, deadline_ns: Optional[int]) -> str:
        spec = "null" if deadline_ns is None else f'{{"Deadline": {int(deadline_ns)}, "IgnoreSystemJobs": false}}'
        return f'POST /v1/node/{_q(node_id)}/drain{self._query()} {{"DrainSpec": {spec}}}'

    # ---- plans ------------------------------------------------------------------------------------
    def plan_restart(self, job_id: str, alloc_id: str, task: Optional[str]) -> Plan:
        what = f"task {task}" if task else "every task"
        return Plan("restart", job_id, [f"GET /v1/allocation/{_q(alloc_id)}", self.restart_request(alloc_id, task)],
                    self.root(job_id) / "<UTC timestamp>",
                    [f"Restarts {what} of allocation {alloc_id[:8]} in place (same allocation, Restarts +1)"])

    def plan_stop(self, job_id: str, alloc_id: str) -> Plan:
        return Plan("stop-alloc", job_id, [f"GET /v1/allocation/{_q(alloc_id)}", self.stop_request(alloc_id)],
                    self.root(job_id) / "<UTC timestamp>",
                    [f"Stops allocation {alloc_id[:8]}: Nomad places a replacement (NextAllocation), on another "
                     "node when one fits; the screen then follows the replacement"])

    def plan_eligibility(self, node_id: str, name: str, eligible: bool) -> Plan:
        effect = ("Nomad may place allocations on it again (blocked evaluations are retried)" if eligible else
                  "Nomad places no new allocation on it; running ones stay")
        requests = [f"GET /v1/node/{_q(node_id)}", self.eligibility_request(node_id, eligible)]
        return Plan("node-eligibility", None, requests,
                    self.root(f"node {name}") / "<UTC timestamp>",
                    [f"Node {name} becomes {'eligible' if eligible else 'ineligible'}: {effect}"])

    def plan_drain(self, node_id: str, name: str, deadline_ns: Optional[int]) -> Plan:
        if deadline_ns is None:
            note = f"Stops the drain of node {name}; allocations already moved stay where they are"
        else:
            note = (f"Drains node {name}: its allocations move to other nodes, forced after the deadline "
                    f"({deadline_ns // 1_000_000_000} s)")
        return Plan("node-drain", None, [f"GET /v1/node/{_q(node_id)}", self.drain_request(node_id, deadline_ns)],
                    self.root(f"node {name}") / "<UTC timestamp>", [note, DRAIN_NOTE])

    def root(self, name: str) -> Path:
        return bk.backup_root(self.state, self.cluster, name)

    # ---- the four repairs ----------------------------------------------------------------------------
    async def restart(self, job_id: str, alloc_id: str, task: Optional[str]) -> ActionResult:
        step = self.restart_request(alloc_id, task)

        async def body(run: _Run) -> ActionResult:
            await self._save_alloc(run, job_id, alloc_id)
            await run.send(step, self.nomad.restart_allocation(alloc_id, task))
            what = f"Task {task}" if task else "Every task"
            return run.result(True, f"{what} of allocation {alloc_id[:8]} ({job_id}) restarted in place.")

        return await self._perform("restart", job_id, step, body)

    async def stop(self, job_id: str, alloc_id: str) -> ActionResult:
        step = self.stop_request(alloc_id)

        async def body(run: _Run) -> ActionResult:
            await self._save_alloc(run, job_id, alloc_id)
            answer = await run.send(step, self.nomad.stop_allocation(alloc_id))
            eval_id = str(answer.get("EvalID", ""))[:8] if isinstance(answer, dict) else ""
            run.notes.append(f"evaluation {eval_id} places the replacement" if eval_id else "")
            return run.result(True, f"Allocation {alloc_id[:8]} ({job_id}) stopped; Nomad reschedules it.")

        return await self._perform("stop-alloc", job_id, step, body)

    async def set_eligibility(self, node_id: str, name: str, eligible: bool) -> ActionResult:
        step = self.eligibility_request(node_id, eligible)

        async def body(run: _Run) -> ActionResult:
            await self._save_node(run, node_id, name)
            await run.send(step, self.nomad.node_eligibility(node_id, eligible))
            word = "eligible" if eligible else "ineligible"
            return run.result(True, f"Node {name} is now {word} for scheduling.")

        return await self._perform("node-eligibility", None, step, body, target=f"node {name}")

    async def drain(self, node_id: str, name: str, deadline_ns: Optional[int]) -> ActionResult:
        step = self.drain_request(node_id, deadline_ns)

        async def body(run: _Run) -> ActionResult:
            await self._save_node(run, node_id, name)
            await run.send(step, self.nomad.node_drain(node_id, deadline_ns))
            if deadline_ns is None:
                return run.result(True, f"Drain of node {name} stopped; the node stays ineligible until e.")
            run.notes.append(DRAIN_NOTE)
            return run.result(True, f"Node {name} is draining (deadline {deadline_ns // 1_000_000_000} s).")

        return await self._perform("node-drain", None, step, body, target=f"node {name}")

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
            path = bk.write_backup(self.state, self.cluster, name,
                                   {f"{what}.json": bk.json_bytes(value), "meta.json": bk.json_bytes(meta)})
        except bk.BackupError as exc:
            raise run.fail("", f"{exc}; nothing was sent") from None
        run.backup = path
        run.pending.remove("backup")
        run.done.append(f"the {what} as it was saved")

    async def _save_alloc(self, run: _Run, job_id: str, alloc_id: str) -> None:
        await self._save(run, job_id, "allocation", self.nomad.allocation(alloc_id))

    async def _save_node(self, run: _Run, node_id: str, name: str) -> None:
        await self._save(run, f"node {name}", "node", self.nomad.node(node_id))
