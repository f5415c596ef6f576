"""What a screen may ask of the app: the typed interface screens hold instead of the app class itself.

Screens import this, never `dtle_tui.app` (which imports the screens): no import circle, and the
screens' needs are written down in one place. Screens read immutable snapshots and send intents; how an
intent reaches Nomad or Consul (the poller's clients, its loop and thread) is the app's business.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional, Protocol

if TYPE_CHECKING:
    from textual.screen import Screen

    from dtle_tui.config.settings import Settings
    from dtle_tui.live.logtail import TailState
    from dtle_tui.live.snapshot import Snapshot
    from dtle_tui.ops.actions import Actions
    from dtle_tui.ops.repair import Repairs
    from dtle_tui.ops.report import ActionResult


class WriteRun(Protocol):
    """What a write key's flow (screens/job_actions.py, screens/repair_actions.py) is handed: the operations
    on its own clients, made for this write from the settings it started with (ops/session.py), and the
    dialogs. The whole flow runs in one worker on the UI's loop (intents.py)."""

    actions: Actions
    repairs: Repairs
    screen: Screen  # where the key was pressed
    snapshot: Optional[Snapshot]  # the console's latest, when the key was pressed

    async def confirm(self, dialog: Screen) -> Any:
        """The dialog's answer; anything but a yes is reported as cancelled (nothing was sent)."""
        ...

    async def ask(self, dialog: Screen) -> Any:
        """The dialog's answer (None: cancelled, said so)."""
        ...

    def say(self, text: str, severity: str = "information") -> None: ...

    async def report(self, write: Awaitable[ActionResult]) -> ActionResult:
        """Await the write, have the data re-read (it changed), say how it went."""
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

    def open_node(self, node_id: str) -> None: ...

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

    def write(self, name: str, screen: Screen) -> None:
        """Write key `name` (keys.write_key) pressed on `screen`: refused in read-only mode, else its flow
        run in an app worker (it outlives the screen that started it)."""
        ...

    def tail(self, alloc_id: str, task: str, log_type: str, max_lines: int,
             on_lines: Callable[[list, int], None], on_state: Callable[[TailState], None]) -> Optional[TailHandle]:
        """Follow a task's log on the poller's loop; the callbacks run on the poller's thread. None while
        not connected to Nomad."""
        ...
