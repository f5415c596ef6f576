"""What a screen may ask of the app: the typed interface screens hold instead of the app class itself.

Screens import this, never `dtle_tui.app` (which imports the screens): no import circle, and the
screens' needs are written down in one place. Screens read immutable snapshots and send intents; how an
intent reaches Nomad or Consul (the poller's clients, its loop and thread) is the app's business.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional, Protocol, TypeVar

if TYPE_CHECKING:
    from dtle_tui.config.settings import Settings
    from dtle_tui.live.logtail import TailState
    from dtle_tui.live.snapshot import Snapshot
    from dtle_tui.ops.actions import Actions
    from dtle_tui.ops.repair import Repairs

T = TypeVar("T")


class ActionRun(Protocol):
    """One write action's flow, bound to the cluster it started on: a context switched meanwhile never
    sends the rest of the flow to the other cluster."""

    actions: Actions  # its plan_* that read only local files may be called on the UI thread
    repairs: Repairs  # restart / stop allocation, node eligibility and drain, on the same clients

    async def call(self, step: Awaitable[T]) -> T:
        """Await `step` (a coroutine of `actions`) on the poller's loop, where its HTTP clients live.
        A cancelled caller does not cancel the step: a half-done write is never cut short."""
        ...


class TailHandle(Protocol):
    """A log tail running on the poller's loop; every method is safe to call from the UI thread."""

    @property
    def state(self) -> TailState: ...

    @property
    def paused(self) -> bool: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def lines_snapshot(self) -> list[str]: ...

    def cancel(self) -> None: ...


class Console(Protocol):
    settings: Settings
    snapshot: Optional[Snapshot]

    # ---- navigation ----------------------------------------------------------------------------
    def go_back(self) -> None: ...

    def switch_to(self, mode: str) -> Any: ...

    def open_job(self, job_id: str) -> None: ...

    def open_allocation(self, alloc_id: str) -> None: ...

    def follow_allocation(self, alloc_id: str) -> None:
        """The allocation screen now shows `alloc_id` (the replacement of a stopped one): poll that one."""
        ...

    def watch_dtle_rows(self, job_ids: tuple) -> None:
        """The running jobs in view on Jobs, whose dtle figures the Progress/Delay column shows."""
        ...

    # ---- intents ---------------------------------------------------------------------------------
    def refresh_data(self) -> None:
        """Re-read every list now (after a write, so its effect shows at once)."""
        ...

    def run_job_action(self, flow: Callable[[ActionRun], Awaitable[None]]) -> None:
        """Run a write action's flow in an app worker (it outlives the screen that started it). When
        the clients are not connected yet, the operator is told so and nothing is sent."""
        ...

    def tail(self, alloc_id: str, task: str, log_type: str, max_lines: int,
             on_lines: Callable[[list, int], None], on_state: Callable[[TailState], None]) -> Optional[TailHandle]:
        """Follow a task's log on the poller's loop; the callbacks run on the poller's thread. None while
        not connected to Nomad."""
        ...
