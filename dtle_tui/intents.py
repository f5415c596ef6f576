"""The app's side of console.py's intents: write actions and log tails, run on the poller's loop.

The poller's HTTP clients belong to its loop (its own thread): what a screen asks for is sent there,
and the UI thread only awaits a future, so it never blocks and never touches a client.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import TYPE_CHECKING, Awaitable, Callable, Optional, TypeVar

if TYPE_CHECKING:
    from dtle_tui.live.logtail import LogTail, TailState
    from dtle_tui.live.poller import Poller
    from dtle_tui.ops.actions import Actions
    from dtle_tui.ops.repair import Repairs

T = TypeVar("T")


class PollerActionRun:
    """console.ActionRun on one poller: its clients, its loop."""

    def __init__(self, poller: Poller, actions: Actions) -> None:
        self.poller = poller
        self.actions = actions

    async def call(self, step: Awaitable[T]) -> T:
        future = self.poller.submit(step)  # type: ignore[arg-type]
        return await asyncio.shield(asyncio.wrap_future(future))

    @property
    def repairs(self) -> Repairs:
        """The repair actions (restart, stop allocation, eligibility, drain) on the same Nomad client."""
        from dtle_tui.ops.repair import Repairs  # at the first repair key, not with the first paint

        return Repairs(self.poller.nomad, self.actions.settings)


def action_run(poller: Optional[Poller], settings) -> Optional[PollerActionRun]:
    """An ActionRun bound to `poller`'s clients, or None while they are not created yet."""
    if poller is None or poller.nomad is None:
        return None
    from dtle_tui.live.startup import ConsulWhenReady
    from dtle_tui.ops.actions import Actions  # at the first write key, not with the first paint

    # Consul starts after the first paint: an action in the first moments waits for it rather than refuses.
    consul = poller.consul if poller.consul is not None else ConsulWhenReady(poller)
    return PollerActionRun(poller, Actions(poller.nomad, consul, settings))


class PollerTail:
    """console.TailHandle: a LogTail running on the poller's loop."""

    def __init__(self, tail: LogTail, future: concurrent.futures.Future, loop: asyncio.AbstractEventLoop) -> None:
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
    if poller is None or poller.nomad is None:
        return None
    from dtle_tui.live.logtail import LogTail

    tail = LogTail(poller.nomad, alloc_id, task, log_type, max_lines=max_lines, on_lines=on_lines,
                   on_state=on_state)
    return PollerTail(tail, poller.submit(tail.run()), poller.loop)
