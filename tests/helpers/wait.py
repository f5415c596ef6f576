"""The one way the tests wait: on a condition, with a deadline that only turns a hang into a failure.

The machine the suite runs on is often busy (two cores shared with other work, a load of 10 and more), so
the deadline is generous and never a measure of speed: no test asserts how long something took. The
condition is checked once more after the deadline has passed, so a slow step that did finish counts.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable, Optional

PATIENCE_S = 60.0  # the default deadline
STEP_S = 0.05


class Deadline:
    """`condition` polled until it is truthy (kept in `result`) or `timeout` seconds have passed (then
    AssertionError naming `what`). An exception in `condition` counts as not yet: the screen may be between
    states; the last one is named in the failure."""

    def __init__(self, condition: Callable[[], Any], what: str, timeout: float) -> None:
        self.condition, self.what, self.timeout = condition, what, timeout
        self.ends = time.monotonic() + timeout
        self.result: Any = None
        self.error: Optional[Exception] = None

    def poll(self) -> bool:
        over = time.monotonic() >= self.ends
        try:
            self.result = self.condition()
        except Exception as exc:
            self.result, self.error = None, exc
        if self.result:
            return True
        if over:
            detail = f" (last error: {self.error!r})" if self.error is not None else ""
            raise AssertionError(f"waited {self.timeout:g} s for {self.what or self.condition}{detail}")
        return False


async def until(pilot: Any, condition: Callable[[], Any], what: str = "", timeout: float = PATIENCE_S) -> Any:
    """Let the app run until `condition()` is truthy; returns its value.

    Between two checks the event loop simply runs for STEP_S: the app handles its messages and repaints
    on its own timers, as it does for an operator. A Pilot pause at every step would also wake every
    widget of the screen and force a repaint (about 3 ms of CPU each, some 40 times a test). One Pilot
    pause once the condition holds: every widget has then handled what was sent to it before, as the
    tests expect of the screen they go on with (a footer's rebuild for the keys of the new state, say)."""
    deadline = Deadline(condition, what, timeout)
    while not deadline.poll():
        await asyncio.sleep(STEP_S)
    if pilot is not None:
        await pilot.pause(0)
    return deadline.result


def until_blocking(condition: Callable[[], Any], what: str = "", timeout: float = PATIENCE_S) -> Any:
    """`until` for a test that is not on an event loop (the poller's thread and the simulator do the work)."""
    deadline = Deadline(condition, what, timeout)
    while not deadline.poll():
        time.sleep(STEP_S)
    return deadline.result
