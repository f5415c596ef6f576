"""How a screen runs a write (a job action or a repair): one at a time, on the poller's loop inside an app
worker, a bug shown rather than swallowed, and the result reported. Mixed into job_actions.py's and
repair_actions.py's mixins, so a screen carrying both (Job detail) never runs two writes at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Awaitable, Callable, Optional

from dtle_tui.text.secrets import redact

if TYPE_CHECKING:
    from dtle_tui.console import ActionRun, Console
    from dtle_tui.ops.report import ActionResult

log = logging.getLogger(__name__)


class WriteRunsMixin:
    console: Console  # provided by ConsoleScreen
    # What is running ("action", "repair"), or None: one flag for both kinds.
    _write_running: Optional[str] = None

    @property
    def _read_only(self) -> bool:
        return bool(self.console.settings.read_only)

    def _say(self, text: str, severity: str = "information", timeout: float = 8.0) -> None:
        self.app.notify(text, severity=severity, timeout=timeout, markup=False)  # type: ignore[attr-defined]

    def _start_write(self, kind: str, flow: Callable[[ActionRun], Awaitable[object]]) -> None:
        """Run `flow` unless another write of this screen is still under way (then say so)."""
        if self._write_running is not None:
            self._say(f"Another {self._write_running} is still running; wait for its result.", "warning")
            return

        async def guarded(run: ActionRun) -> None:
            self._write_running = kind
            try:
                await flow(run)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug must be visible, never a silent dead key
                log.exception("%s failed", kind)
                self._say(redact(f"{kind.capitalize()} failed inside dtle-tui: {type(exc).__name__}: {exc}"),
                          "error", 30)
            finally:
                self._write_running = None

        self.console.run_job_action(guarded)

    async def _report_run(self, run: ActionRun, coro: Awaitable[ActionResult]) -> ActionResult:
        """Await one write, have the data re-read (it changed), and say how it went."""
        result = await run.call(coro)
        self.console.refresh_data()
        self.report(result)
        return result

    def report(self, result: ActionResult) -> None:
        severity = "information" if result.ok else ("warning" if result.refused else "error")
        log.info("%s %s: %s", result.action, result.job_id, result.text())
        self._say(result.brief(), severity, 20.0 if result.ok else 60.0)
