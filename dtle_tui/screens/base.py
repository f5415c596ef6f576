"""What every console screen shares: the context banner, the status line, the footer, and the way in for
every write key (`action_write`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import ActiveBinding
from textual.screen import Screen
from textual.widgets import Footer, Static

from dtle_tui.keys import writes
from dtle_tui.live.snapshot import Snapshot
from dtle_tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from dtle_tui.console import Console
    from dtle_tui.ops.report import ActionResult


class ConsoleScreen(Screen):
    """A screen fed by poller snapshots. Hidden screens do not render; they catch up on resume."""

    TITLE_TEXT = ""
    KEYS_TITLE = ""  # the screen's name in help and the README's keys table

    @property
    def console(self) -> Console:
        return self.app  # type: ignore[return-value]

    def compose_banner(self) -> ComposeResult:
        yield Static("", id="banner", classes="banner")

    def compose_status(self) -> ComposeResult:
        yield StatusBar(id="status")
        # Compact, and without the palette hint (it is on the help screen): at 80 columns the footer
        # then holds the keys an operator needs most.
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self._banner_for: object = None
        self.apply_banner()

    def apply_banner(self) -> None:
        """The screen title and the context's name and colour, so production is never taken for staging.
        Re-applied when the operator switches context."""
        settings = self.console.settings
        key = (settings.context, settings.context_color)
        if key == getattr(self, "_banner_for", None):
            return
        self._banner_for = key
        try:
            banner = self.query_one("#banner", Static)
        except Exception:  # a screen without a banner
            return
        label = Text(f" {self.TITLE_TEXT} ", style="bold")
        if settings.context:
            label.append(f" context: {settings.context} ", style="reverse bold")
        banner.update(label)
        banner.styles.background = None
        if settings.context_color:
            try:
                banner.styles.background = settings.context_color
            except Exception:  # a colour Textual cannot parse: keep the theme's banner
                pass

    def fit_columns(self, width: int) -> None:
        """Give the screen's tables the columns that suit `width`; called on mount and on resize."""

    def on_resize(self) -> None:
        self.fit_columns(self.size.width)
        if self.snapshot is not None:
            self.show_snapshot(self.snapshot)

    def on_screen_resume(self) -> None:
        snap = self.console.snapshot
        if snap is not None:
            self.show_snapshot(snap)

    def receive(self, snapshot: Snapshot) -> None:
        """Called by the app for the active screen only."""
        self.show_snapshot(snapshot)

    def show_snapshot(self, snapshot: Snapshot) -> None:
        self.apply_banner()
        try:
            self.query_one(StatusBar).show(snapshot)
        except Exception:  # not mounted yet
            pass

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """What the footer shows. Read-only mode leaves the write keys out; they stay bound, so a press
        is still answered, with the refusal (action_write), not silently dropped."""
        bindings = super().active_bindings
        if not self.console.settings.read_only:
            return bindings
        return {key: active for key, active in bindings.items() if not writes(active.binding.action)}

    # ---- write keys (keys.write_key) ----------------------------------------------------------------
    def action_write(self, name: str) -> None:
        """Every write key: the console refuses it in read-only mode, else runs its flow (intents.py)."""
        self.console.write(name, self)

    def write_target(self, name: str) -> Any:
        """What write key `name` acts on here: the job ID, the Allocation or the Node (None: nothing
        selected). Screens with write keys say."""
        return None

    def write_done(self, name: str, target: Any, result: ActionResult) -> None:
        """Write `name` on `target` was reported: a screen may follow its effect (a replaced allocation)."""

    def flash(self, message: str, severity: str = "information", timeout: float = 6.0) -> None:
        self.app.notify(message, severity=severity, timeout=timeout, markup=False)  # type: ignore[arg-type]

    @property
    def snapshot(self) -> Optional[Snapshot]:
        return self.console.snapshot
