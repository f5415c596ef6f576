"""dtle's lines of one allocation, live, from the Nomad agent's log of the allocation's node.

A dtle task writes nothing to its stdout or stderr (docs/reference/real-dtle.md §2): the driver logs into
the Nomad client agent's log, which `GET /v1/agent/monitor?node_id=<node>&log_level=<level>` streams
live, never its history (docs/reference/agent-monitor.md). `AgentLogTail` reads the allocation once (its
node, its job, its task's driver and state), follows that node's log at the chosen level and keeps the
lines of this allocation (model/agentlog.py AllocationLog: its ID in any of dtle's fields, or its job name
with this task or none), in the ring and with the controls every tail has (live/logtail.py TailBase).

The stream is live only, so a task between restarts has nothing to show until its next try. What the
console saw of an allocation is kept, a few hundred lines per allocation for a few dozen allocations
(`SEEN`, per Nomad address, for as long as the console runs): a tail shows those first, and the incident
report carries them. Nothing is requested unless a tail runs: the Logs screen starts one when it opens on
a dtle task and cancels it when it closes.

A refusal (403: the token lacks `agent:read`) is final, one line naming the capability; everything else
(a node down, a dropped stream, the agent restarting) is retried with back-off. Meanwhile a blocking query
on the allocation keeps `TailState.note` true: when the task is between restarts, the next try's time.

Threading: `run()` and the callbacks run on the loop that awaits `run()` (the poller's loop); `SEEN` is
also read by the incident report, from a worker thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict, deque
from datetime import datetime, timezone
from typing import Any, Optional

from dtle_tui.api.agentmonitor import AgentMonitor
from dtle_tui.api.errors import ApiError, ErrorKind
from dtle_tui.live.logtail import OnLines, OnState, TailBase, TailState
from dtle_tui.model.agentlog import LEVELS, AgentLogLine, AllocationLog, level_at_least, short_text
from dtle_tui.model.verdict import task_facts
from dtle_tui.text import clock, fmt

__all__ = ["SEEN", "AgentLogTail", "SeenLines", "task_driver", "task_note"]

SEEN_LINES = 300  # per allocation: a few restarts of a crash loop at debug level
SEEN_ALLOCATIONS = 64
READ_TIMEOUT_S = 30.0  # the framed stream carries a heartbeat each second: silence means a dead connection
WATCH_WAIT = "30s"  # the note's "in 7m" is read again at least this often


class SeenLines:
    """The dtle lines the console saw of each allocation, per cluster (Nomad address); thread-safe.
    `followed` tells an allocation whose log was followed but said nothing from one never followed."""

    def __init__(self, per_allocation: int = SEEN_LINES, allocations: int = SEEN_ALLOCATIONS) -> None:
        self.per_allocation, self.allocations = per_allocation, allocations
        self._lock = threading.Lock()
        self._lines: OrderedDict[tuple[str, str], deque] = OrderedDict()
        self._texts: dict[tuple[str, str], set] = {}

    def follow(self, cluster: str, alloc_id: str) -> None:
        """A tail starts on this allocation: it counts as followed from now on."""
        with self._lock:
            self._entry((cluster, alloc_id))

    def _entry(self, key: tuple[str, str]) -> deque:
        lines = self._lines.get(key)
        if lines is None:
            lines = self._lines[key] = deque(maxlen=self.per_allocation)
            self._texts[key] = set()
            while len(self._lines) > self.allocations:
                old, _ = self._lines.popitem(last=False)
                self._texts.pop(old, None)
        self._lines.move_to_end(key)
        return lines

    def add(self, cluster: str, alloc_id: str, lines: list[AgentLogLine]) -> None:
        """Lines as they arrive; a line already kept (two streams of the same node a moment apart) is not
        kept twice."""
        key = (cluster, alloc_id)
        with self._lock:
            kept, texts = self._entry(key), self._texts[key]
            for line in lines:
                if line.text in texts:
                    continue
                if len(kept) == kept.maxlen:
                    texts.discard(kept[0].text)
                kept.append(line)
                texts.add(line.text)

    def lines(self, cluster: str, alloc_id: str, level: str = "trace") -> list[AgentLogLine]:
        """The lines kept of an allocation at `level` or above (a continuation line goes with its entry)."""
        with self._lock:
            kept = list(self._lines.get((cluster, alloc_id), ()))
        return [line for line in kept if level_at_least(line.level, level)]

    def followed(self, cluster: str, alloc_id: str) -> bool:
        with self._lock:
            return (cluster, alloc_id) in self._lines

    def clear(self) -> None:
        with self._lock:
            self._lines.clear()
            self._texts.clear()


SEEN = SeenLines()


def task_driver(alloc: Any, task: str) -> str:
    """The driver of `task` from a whole allocation (GET /v1/allocation/<id> carries its job); "" unknown."""
    if not isinstance(alloc, dict) or not isinstance(alloc.get("Job"), dict):
        return ""
    for group in alloc["Job"].get("TaskGroups") or ():
        if isinstance(group, dict) and group.get("Name") == alloc.get("TaskGroup"):
            for spec in group.get("Tasks") or ():
                if isinstance(spec, dict) and spec.get("Name") == task:
                    return str(spec.get("Driver") or "")
    return ""


def task_note(task: str, state: Any, now_s: float) -> str:
    """When dtle can write lines of this task next, from its events; "" while it runs."""
    facts = task_facts(task, state)
    if facts.next_try_ns is not None:
        wait = facts.next_try_ns / 1e9 - now_s
        when = fmt.short_time(facts.next_try_ns)
        soon = "now" if wait <= 0 else f"in {fmt.duration(wait)}"
        return f"{task} is between restarts: next lines at its next try, {when} ({soon})"
    if facts.state == "dead":
        why = f" ({facts.gave_up})" if facts.gave_up else ""
        return f"{task} is dead{why}: no more lines will come from it"
    if facts.state != "running":
        return f"{task} has not started: its lines come when it starts"
    return ""


class AgentLogTail(TailBase):
    """Follows dtle's lines of one allocation's task (see the module docstring)."""

    def __init__(self, nomad: Any, settings: Any, alloc_id: str, task: str, level: str = "info", *,
                 max_lines: int = 10000, on_lines: Optional[OnLines] = None, on_state: Optional[OnState] = None,
                 seen: SeenLines = SEEN, monitor: Optional[AgentMonitor] = None, plain: bool = False) -> None:
        """`nomad`: a NomadClient (the allocation); `settings`: its NomadSettings (the monitor's own client,
        unless `monitor` is given). `plain`: ask for the lines as text instead of frames (the same lines;
        frames carry a heartbeat each second, which lets a dead connection be noticed)."""
        if level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}")
        super().__init__(max_lines, on_lines, on_state)
        self.nomad, self.settings = nomad, settings
        self.alloc_id, self.task, self.level = alloc_id, task, level
        self.seen, self._monitor, self.plain = seen, monitor, plain
        self.cluster = getattr(settings, "addr", "")
        self.node_id = self.job_id = self.driver = ""
        self.note = ""
        self.connects = 0
        self._index = 0
        self._message = TailState()

    def _say(self, following: bool, message: str, final: bool = False) -> None:
        self._message = TailState(following, message, final)
        self._set_state(TailState(following, message, final, self.note, self.driver))

    # ---- the loop -------------------------------------------------------------------------------
    async def run(self) -> None:
        """Follow until cancelled, or until a final answer (no such allocation, not a dtle task, 403)."""
        monitor = self._monitor or AgentMonitor(self.settings)
        try:
            if not await self._read_allocation():
                return
            self._show_seen()
            watcher = asyncio.ensure_future(self._watch_allocation())
            try:
                await self._follow(monitor)
            finally:
                watcher.cancel()
        finally:
            if self._monitor is None:
                await monitor.aclose()

    async def _read_allocation(self) -> bool:
        delay = self.backoff_start_s
        while True:
            self._say(False, "reading the allocation…")
            try:
                answer = await self.nomad.allocation(self.alloc_id)
            except ApiError as exc:
                if exc.kind in (ErrorKind.NOT_FOUND, ErrorKind.FORBIDDEN, ErrorKind.BAD_REQUEST):
                    self._say(False, exc.one_line(), final=True)
                    return False
                self._say(False, f"{exc.one_line()}; retry in {delay:g}s")
                await asyncio.sleep(delay)
                delay = min(self.backoff_cap_s, delay * 2)
                continue
            alloc = answer.value
            self._index = answer.index
            self.node_id, self.job_id = str(alloc.get("NodeID") or ""), str(alloc.get("JobID") or "")
            self.driver = task_driver(alloc, self.task)
            self.note = task_note(self.task, (alloc.get("TaskStates") or {}).get(self.task), clock.now())
            if self.driver and self.driver != "dtle":
                self._say(False, f"{self.task} runs under the {self.driver} driver, not dtle", final=True)
                return False
            return True

    def _show_seen(self) -> None:
        earlier = self.seen.lines(self.cluster, self.alloc_id, self.level)
        self.seen.follow(self.cluster, self.alloc_id)
        if earlier:
            self._add_lines([f"[… {len(earlier)} earlier lines of this allocation, as this console saw them]"]
                            + self._shown(earlier) + ["[… live from here on]"])

    @staticmethod
    def _shown(lines: list[AgentLogLine]) -> list[str]:
        today = datetime.fromtimestamp(clock.now(), timezone.utc).strftime("%Y-%m-%d")
        return [short_text(line, today) for line in lines]

    async def _watch_allocation(self) -> None:
        """Keeps the note true while the tail runs (a blocking query: two requests a minute when idle)."""
        while True:
            try:
                answer = await self.nomad.allocation(self.alloc_id, self._index, WATCH_WAIT)
            except asyncio.CancelledError:
                raise
            except Exception:  # the note stays as it was; the stream reports the connection's troubles
                await asyncio.sleep(self.backoff_cap_s)
                continue
            if answer.index < self._index:
                self._index = 0  # the servers' state went back: read it whole again
            else:
                self._index = answer.index
            state = (answer.value.get("TaskStates") or {}).get(self.task)
            self.note = task_note(self.task, state, clock.now())
            self._say(self._message.following, self._message.message, self._message.final)

    async def _follow(self, monitor: AgentMonitor) -> None:
        delay = self.backoff_start_s
        while True:
            self.connects += 1
            got_lines = False
            self._say(False, "connecting…")
            pick = AllocationLog(self.alloc_id, self.job_id, self.task)
            try:
                silence = None if self.plain else READ_TIMEOUT_S
                async with monitor.follow(self.node_id, self.level, plain=self.plain, read_timeout=silence) as stream:
                    await stream.open()
                    self._say(True, "following")
                    async for batch in stream:
                        mine = pick.pick(batch)
                        if mine:
                            got_lines = True
                            self.seen.add(self.cluster, self.alloc_id, mine)
                            self._add_lines(self._shown(mine))
                reason = "the agent closed its log stream"
            except asyncio.CancelledError:
                raise
            except ApiError as exc:
                if exc.kind is ErrorKind.FORBIDDEN:
                    self._say(False, exc.one_line(), final=True)
                    return
                reason = exc.one_line()
            if got_lines:
                delay = self.backoff_start_s
            self._say(False, f"{reason}; retry in {delay:g}s")
            await asyncio.sleep(delay)
            delay = min(self.backoff_cap_s, delay * 2)
