"""The app's side of console.py's intents: write keys and log tails.

Writes (`Writes`): every write key of every screen comes here (ConsoleScreen.action_write →
DtleApp.write). In read-only mode it is refused at once, audited, with the words of every refusal, and
without a connection. Otherwise its flow (screens/job_actions.py, screens/repair_actions.py: plan,
confirmation, write, report) runs in one app worker on Textual's own loop, with clients made for this write
(ops/session.py): one loop, one path, the UI never waits (every request is async, files are written in a
thread), and a screen closed meanwhile does not cut a half-done write short. One write at a time.

Log tails run on the poller's loop, where its Nomad client lives: the UI thread only reads what the tail
keeps, under its lock. A tail is of a task's stdout or stderr (live/logtail.py), or, for a `log_type` of
`dtle:<level>`, of dtle's lines in the Nomad agent's log (live/agentlogs.py): dtle writes no stdout/stderr.

This module is loaded with the first write key or log tail (app.py's table), never before the first paint.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional

from textual.screen import Screen

from dtle_tui.live.agentlogs import AgentLogTail
from dtle_tui.live.logtail import LogTail, TailBase, TailState
from dtle_tui.model.allocations import Allocation
from dtle_tui.model.nodes import Node
from dtle_tui.ops.guarded import refuse_read_only
from dtle_tui.ops.report import ActionResult
from dtle_tui.ops.session import WriteSession
from dtle_tui.screens import job_actions, repair_actions
from dtle_tui.screens.base import ConsoleScreen
from dtle_tui.screens.confirm import RESET_FIRST
from dtle_tui.text.secrets import redact

if TYPE_CHECKING:
    from dtle_tui.live.poller import Poller

# The app (app.py's DtleApp, which loads this module by name: not imported back): the console's intents
# (console.Console) and Textual's App (notify, push_screen_wait, run_worker).
DtleApp = Any

log = logging.getLogger(__name__)

# Each write's flow, by its name in the audit log (the `write('<name>')` of its key, keys.write_key).
FLOWS: dict[str, Callable[[Any, Any], Awaitable[None]]] = {**job_actions.FLOWS, **repair_actions.FLOWS}


def audit_target(target: Any) -> Optional[str]:
    """The audit line's `job` for what a write acts on: the job ID, an allocation's job, `node <name>`."""
    if isinstance(target, Allocation):
        return target.job_id
    if isinstance(target, Node):
        return f"node {target.name}"
    return target or None


class Run:
    """console.WriteRun: one write's clients and dialogs."""

    def __init__(self, app: DtleApp, screen: ConsoleScreen, name: str, target: Any, session: WriteSession) -> None:
        self.app, self.screen, self.name, self.target = app, screen, name, target
        self.session = session
        self.actions, self.repairs = session.actions, session.repairs
        self.snapshot = app.snapshot

    def say(self, text: str, severity: str = "information", timeout: float = 8.0) -> None:
        self.app.notify(text, severity=severity, timeout=timeout, markup=False)

    async def confirm(self, dialog: Screen) -> Any:
        answer = await self.app.push_screen_wait(dialog)
        if answer not in (True, RESET_FIRST):
            self.say("Cancelled. Nothing was sent.")
        return answer

    async def ask(self, dialog: Screen) -> Any:
        answer = await self.app.push_screen_wait(dialog)
        if answer is None:
            self.say("Cancelled. Nothing was sent.")
        return answer

    async def report(self, write: Awaitable[ActionResult]) -> ActionResult:
        result = await write
        self.app.refresh_data()  # it changed: read it again now
        show(self.app, result)
        self.screen.write_done(self.name, self.target, result)
        return result


def show(app: DtleApp, result: ActionResult) -> None:
    severity = "information" if result.ok else ("warning" if result.refused else "error")
    log.info("%s %s: %s", result.action, result.job_id, result.text())
    app.notify(result.brief(), severity=severity, timeout=20.0 if result.ok else 60.0, markup=False)


class Writes:
    """Every write key of the app (see the module docstring); one write at a time."""

    def __init__(self, app: DtleApp) -> None:
        self.app = app
        self.running: Optional[str] = None

    def start(self, name: str, screen: ConsoleScreen) -> None:
        if self.running is not None:
            self.app.notify(f"Another write ({self.running}) is still running; wait for its result.",
                            severity="warning", timeout=8.0, markup=False)
            return
        target = screen.write_target(name)
        self.running = name
        # An app worker: it outlives the screen, so leaving the screen never cuts a write short.
        self.app.run_worker(self._run(name, screen, target), group="writes", exit_on_error=False)

    async def _run(self, name: str, screen: ConsoleScreen, target: Any) -> None:
        settings = self.app.settings
        session: Optional[WriteSession] = None
        try:
            if settings.read_only:
                show(self.app, await refuse_read_only(settings, name, audit_target(target)))
                return
            session = WriteSession(settings)
            await FLOWS[name](Run(self.app, screen, name, target, session), target)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must be visible, never a silent dead key
            log.exception("write %s failed", name)
            self.app.notify(redact(f"{name} failed inside dtle-tui: {type(exc).__name__}: {exc}"),
                            severity="error", timeout=30, markup=False)
        finally:
            self.running = None  # at once: the next key may come while the clients close
            if session is not None:
                await session.aclose()


class PollerTail:
    """console.TailHandle: a tail (LogTail or AgentLogTail) running on the poller's loop."""

    def __init__(self, tail: TailBase, future: concurrent.futures.Future, loop: asyncio.AbstractEventLoop) -> None:
        self._tail, self._future, self._loop = tail, future, loop

    @property
    def state(self) -> TailState:
        return self._tail.state

    @property
    def paused(self) -> bool:
        return self._tail.paused

    def pause(self) -> None:
        self._tail.pause()

    def resume(self) -> None:
        self._tail.resume(loop=self._loop)  # what arrived meanwhile is delivered from the tail's own loop

    def lines_snapshot(self) -> list[str]:
        return self._tail.lines_snapshot()

    def cancel(self) -> None:
        self._future.cancel()  # thread-safe: the task is cancelled on the poller's loop


def start_tail(poller: Optional[Poller], alloc_id: str, task: str, log_type: str, max_lines: int,
               on_lines: Callable[[list, int], None], on_state: Callable[[TailState], None]) -> Optional[PollerTail]:
    """`log_type`: stdout, stderr, or `dtle:<level>` (dtle's lines from `level` up, e.g. `dtle:info`)."""
    if poller is None or poller.nomad is None:
        return None
    tail: TailBase
    if log_type.startswith("dtle:"):
        tail = AgentLogTail(poller.nomad, poller.settings.nomad, alloc_id, task, log_type[len("dtle:"):],
                            max_lines=max_lines, on_lines=on_lines, on_state=on_state)
    else:
        tail = LogTail(poller.nomad, alloc_id, task, log_type, max_lines=max_lines, on_lines=on_lines,
                       on_state=on_state)
    return PollerTail(tail, poller.submit(tail.run()), poller.loop)
